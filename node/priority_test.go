package node_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

// Priorities and back-pressure as an application sees them, over
// go-libp2p: a high-priority message overtakes a full bulk queue, in
// direct messages and in broadcasts; TrySend fails at once on a full
// queue where Send waits; and a message older than its channel's MaxAge
// is dropped and counted, never silently.
func TestPriorityOvertakesBulkQueue(t *testing.T) {
	c := newCluster(t)
	bulk := state.ChannelConfig{Name: "bulk", Kind: state.Direct, Version: 1, MaxSize: 1 << 20, QueueLimit: 200}
	urgent := state.ChannelConfig{Name: "urgent", Kind: state.Direct, Version: 1, Priority: true, MaxSize: 1024, QueueLimit: 16}
	txs := state.ChannelConfig{Name: "txs", Kind: state.Broadcast, Version: 1, MaxSize: 256 << 10, QueueLimit: 400}
	votes := state.ChannelConfig{Name: "votes", Kind: state.Broadcast, Version: 1, Priority: true, MaxSize: 1024, QueueLimit: 16}
	stale := state.ChannelConfig{Name: "stale", Kind: state.Direct, Version: 1, MaxSize: 1 << 20, QueueLimit: 200, MaxAge: time.Millisecond}
	tiny := state.ChannelConfig{Name: "tiny", Kind: state.Direct, Version: 1, MaxSize: 1 << 20, QueueLimit: 2}
	chans := func(cfg *node.Config) { cfg.Channels = []state.ChannelConfig{bulk, urgent, txs, votes, stale, tiny} }
	a := c.startWith("a", chans, nil)
	b := c.startWith("b", chans, nil, a)
	ch := func(name string) state.Channel { x, _ := a.Channel(name); return x }
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool {
		return readyWith(a, b.ID()) && readyWith(b, a.ID()) && len(a.BroadcastPeers(ch("txs"))) == 1 && len(a.BroadcastPeers(ch("votes"))) == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	subs := []*node.Subscription{b.Subscribe(ch("bulk")), b.Subscribe(ch("urgent")), b.Subscribe(ch("txs")), b.Subscribe(ch("votes"))}

	// 200 MiB of bulk direct messages, then one urgent.
	mib := bytes.Repeat([]byte{1}, 1<<20)
	for range 200 {
		if err := a.Send(ctx, b.ID(), ch("bulk"), mib); err != nil {
			t.Fatal(err)
		}
	}
	// TrySend: a queue of 2 megabyte messages fills faster than it drains.
	full := false
	for i := 0; i < 100 && !full; i++ {
		err := a.TrySend(ctx, b.ID(), ch("tiny"), mib)
		full = errors.Is(err, reducer.ErrQueueFull)
		if err != nil && !full {
			t.Fatal(err)
		}
	}
	if !full {
		t.Errorf("100 TrySends of 1 MiB on a queue of 2 never found it full")
	}
	if err := a.Send(ctx, b.ID(), ch("urgent"), []byte("urgent")); err != nil {
		t.Fatal(err)
	}
	// 400 broadcasts of 128 KiB, then one vote.
	tx := bytes.Repeat([]byte{2}, 128<<10)
	for i := range 400 {
		tx[0], tx[1] = byte(i), byte(i>>8)
		if err := a.Broadcast(ctx, ch("txs"), tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Broadcast(ctx, ch("votes"), []byte("vote")); err != nil {
		t.Fatal(err)
	}
	// Stale: 50 messages of 1 MiB that cannot all leave within 1 ms.
	for range 50 {
		if err := a.Send(ctx, b.ID(), ch("stale"), mib); err != nil {
			t.Fatal(err)
		}
	}
	want := map[int]int{0: 200, 1: 1, 2: 400, 3: 1}
	for i, sub := range subs {
		for n := 0; n < want[i]; n++ {
			select {
			case <-sub.C():
			case <-ctx.Done():
				t.Fatalf("subscription %d: %d of %d messages", i, n, want[i])
			}
		}
	}
	var expired uint64
	waitFor(t, 20*time.Second, func() string { return "a to settle its stale queue" }, func() bool {
		var inFlight int
		a.State(ctx, func(s *state.State) {
			expired = s.Channels[ch("stale")].Expired
			inFlight = s.Peers[b.ID()].InFlight[ch("stale")]
		})
		return inFlight == 0
	})
	if expired == 0 {
		t.Errorf("no stale message expired")
	}
	c.closeAndVerify()

	// The order the messages reached b's state machine, from its log.
	before := func(first, second state.Channel, kind action.Kind) int {
		rd, err := replay.Open(b.log)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		n := 0
		for {
			rec, err := rd.Next()
			if err != nil {
				t.Fatalf("%s never reached b", b.ID())
			}
			if rec.Type != replay.RecordInput || rec.Kind != kind {
				continue
			}
			switch a := rec.Action.(type) {
			case action.MessageReceived:
				if a.Channel == second {
					return n
				}
				if a.Channel == first {
					n++
				}
			case action.GossipReceived:
				if a.Channel == second {
					return n
				}
				if a.Channel == first {
					n++
				}
			}
		}
	}
	t.Logf("urgent after %d bulk, vote after %d txs, %d stale expired", before(ch("bulk"), ch("urgent"), action.KindMessageReceived), before(ch("txs"), ch("votes"), action.KindGossipReceived), expired)
	if n := before(ch("bulk"), ch("urgent"), action.KindMessageReceived); n >= 150 {
		t.Errorf("the urgent message arrived after %d of 200 bulk ones queued before it", n)
	}
	if n := before(ch("txs"), ch("votes"), action.KindGossipReceived); n >= 350 {
		t.Errorf("the vote arrived after %d of 400 broadcasts queued before it", n)
	}
}
