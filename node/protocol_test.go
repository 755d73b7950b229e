package node_test

import (
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/replay"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// fastRules pings an idle peer after one second and gives it one second
// to answer, so ping behaviour shows within a test.
func fastRules() *state.Config {
	r := state.DefaultConfig("test")
	r.PingInterval = time.Second
	r.PingTimeout = time.Second
	return &r
}

// Handshake and ping over real go-libp2p: three nodes become Ready, ping
// each other when idle and keep an RTT per peer.
func TestHandshakeAndPingOverLibp2p(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", fastRules())
	b := c.start("b", fastRules(), a)
	d := c.start("d", fastRules(), a)
	waitFor(t, 20*time.Second, describePeers(a, b, d), func() bool {
		return len(a.ReadyPeers()) == 2 && len(b.ReadyPeers()) == 2 && len(d.ReadyPeers()) == 2
	})
	waitFor(t, 20*time.Second, func() string { return "an RTT for every peer" }, func() bool {
		for _, n := range []*testNode{a, b, d} {
			for _, p := range n.Peers() {
				if p.Status == state.StatusReady && p.RTT <= 0 {
					return false
				}
			}
		}
		return true
	})
	for _, n := range []*testNode{a, b, d} {
		cn := counters(n)
		if cn.Handshakes < 2 || cn.PingsSent == 0 {
			t.Errorf("%s: %d handshakes, %d pings sent", n.name, cn.Handshakes, cn.PingsSent)
		}
		for _, p := range n.Peers() {
			if p.Software != "p2pcore" {
				t.Errorf("%s: peer %s software %q, want the one from its Hello", n.name, p.ID.Short(), p.Software)
			}
		}
	}
	c.closeAndVerify()
}

// Connection limits over real go-libp2p: a node accepting at most two
// inbound peers (handshaking or ready) never has more than two and tells
// the others "too many peers". The hub also dials spokes itself to reach
// its outbound target; those outbound peers do not count, and neither do
// newcomers it only gives addresses to before it turns them away (their
// handshake completes first; on a slow run, such as under the race
// detector, the test saw one ready).
func TestInboundLimitOverLibp2p(t *testing.T) {
	c := newCluster(t)
	rules := state.DefaultConfig("test")
	rules.MaxInbound = 2
	hub := c.start("hub", &rules)
	var spokes []*testNode
	for _, name := range []string{"s1", "s2", "s3", "s4"} {
		spokes = append(spokes, c.start(name, nil, hub))
	}
	inbound := func() (ready int) {
		for _, p := range hub.Peers() {
			if p.Direction == state.Inbound && p.Status == state.StatusReady && !p.AddrsOnly {
				ready++
			}
		}
		return ready
	}
	told := func() (n uint64) {
		for _, s := range spokes {
			n += counters(s).RemoteDisconnects[state.ReasonTooManyPeers]
		}
		return n
	}
	waitFor(t, 20*time.Second, describePeers(append(spokes, hub)...), func() bool {
		if got := inbound(); got > 2 {
			t.Fatalf("hub has %d ready inbound peers, limit 2", got)
		}
		return told() >= 2
	})
	if got := counters(hub).Disconnects[state.ReasonTooManyPeers]; got < 2 {
		t.Errorf("hub counted %d refusals for too many peers, want ≥ 2", got)
	}
	// Replay checks the limit after every action of the hub's run.
	c.closeAndVerify()
}

// Hostile peers — one speaking another network, one sending garbage, one
// an oversized frame, one a frame on a channel that does not exist, one
// echoing the wrong ping nonce — are each dropped with a stated reason;
// an honest peer of the same node never notices.
func TestHostilePeersAreDroppedOthersUnaffected(t *testing.T) {
	c := newCluster(t)
	target := c.start("target", fastRules())
	honest := c.start("honest", fastRules(), target)
	waitFor(t, 20*time.Second, describePeers(target, honest), func() bool { return readyWith(target, honest.ID()) })
	since := func() time.Time {
		for _, p := range target.Peers() {
			if p.ID == honest.ID() {
				return p.Since
			}
		}
		return time.Time{}
	}
	honestSince := since()

	t.Run("wrong network", func(t *testing.T) {
		r := newRawPeer(t)
		r.connect(target)
		r.hello("some-other-net", time.Now().Unix())
		if got := r.disconnectReason(); got != state.ReasonWrongNetwork {
			t.Errorf("told %q, want %q", got, state.ReasonWrongNetwork)
		}
		r.waitDisconnect("another network's Hello")
	})
	t.Run("clock skew", func(t *testing.T) {
		r := newRawPeer(t)
		r.connect(target)
		r.hello("test", time.Now().Add(time.Hour).Unix())
		if got := r.disconnectReason(); got != state.ReasonClockSkew {
			t.Errorf("told %q, want %q", got, state.ReasonClockSkew)
		}
		r.waitDisconnect("a Hello from an hour ahead")
	})
	t.Run("garbage bytes", func(t *testing.T) {
		r := newRawPeer(t)
		r.connect(target)
		junk := []byte{0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef}
		r.frame(byte(state.ChannelControl), uint64(len(junk)), junk)
		r.waitDisconnect("garbage")
	})
	t.Run("oversized frame", func(t *testing.T) {
		r := newRawPeer(t)
		r.connect(target)
		// Claims 1 TiB: the node must refuse it from the header alone.
		r.frame(byte(channel.Block), 1<<40, []byte("tiny"))
		r.waitDisconnect("an oversized frame")
	})
	t.Run("unknown channel", func(t *testing.T) {
		r := newRawPeer(t)
		r.connect(target)
		r.frame(200, 3, []byte("abc"))
		r.waitDisconnect("a frame on channel 200")
	})
	t.Run("wrong ping nonce", func(t *testing.T) {
		r := newRawPeer(t)
		r.connect(target)
		r.hello("test", time.Now().Unix())
		r.waitMsg("HelloAck", func(m message.Message) bool { _, ok := m.(message.HelloAck); return ok })
		ping := r.waitMsg("PingRequest", func(m message.Message) bool { _, ok := m.(message.PingRequest); return ok })
		r.send(message.PingResponse{Nonce: ping.(message.PingRequest).Nonce + 1})
		if got := r.disconnectReason(); got != state.ReasonBadPingNonce {
			t.Errorf("told %q, want %q", got, state.ReasonBadPingNonce)
		}
		r.waitDisconnect("a wrong ping nonce")
	})

	cn := counters(target)
	for reason, want := range map[state.Reason]uint64{
		state.ReasonWrongNetwork: 1, state.ReasonClockSkew: 1, state.ReasonBadPingNonce: 1, state.ReasonMisbehaviour: 3,
	} {
		if cn.Disconnects[reason] < want {
			t.Errorf("target counted %d disconnects for %q, want ≥ %d (all: %v)", cn.Disconnects[reason], reason, want, cn.Disconnects)
		}
	}
	if cn.Offences[state.OffenceMalformed] < 2 || cn.Offences[state.OffenceOversized] < 1 {
		t.Errorf("offences not scored: %v", cn.Offences)
	}

	// The honest peer was Ready throughout and still gets broadcasts.
	if !readyWith(target, honest.ID()) || !since().Equal(honestSince) {
		t.Fatalf("the honest peer was disturbed: ready=%v since %v → %v", readyWith(target, honest.ID()), honestSince, since())
	}
	sub := honest.Subscribe(channel.Block)
	waitFor(t, 10*time.Second, func() string { return "GossipSub subscription" }, func() bool {
		return len(target.BroadcastPeers(channel.Block)) > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := target.Broadcast(ctx, channel.Block, []byte("after the attacks")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.C():
		if string(m.Data) != "after the attacks" {
			t.Errorf("got %q", m.Data)
		}
	case <-ctx.Done():
		t.Fatal("the honest peer no longer receives broadcasts")
	}
	c.closeAndVerify()
}

// A peer cannot make the node allocate a frame's claimed size by claiming
// it: the buffer grows only as bytes arrive. Nor can it open direct
// streams without end.
func TestClaimedFrameSizeIsNotAllocated(t *testing.T) {
	c := newCluster(t)
	target := c.start("target", fastRules())

	r := newRawPeer(t)
	r.connect(target)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// Claims 10 MiB (the sync limit), sends 256 KiB, then ends the stream.
	r.frame(byte(channel.Sync), 10<<20, make([]byte, 256<<10))
	r.out.CloseWrite()
	r.waitDisconnect("a frame cut short")
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 6<<20 {
		t.Errorf("the process allocated %d MiB while reading 256 KiB of a frame that claimed 10 MiB", grew>>20)
	}

	// Two direct streams at once are allowed (one may be replacing the
	// other after a reconnect); a third is reset.
	r2 := newRawPeer(t)
	r2.connect(target)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A stream reaches the node's handler with its first bytes. Which of
	// the three streams the node sees third is up to the scheduler, so
	// all three are watched (the node writes to none of them).
	streams := []network.Stream{r2.out}
	for range 2 {
		st, err := r2.h.NewStream(ctx, r2.target, p2p.DirectProtocol)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	reset := make(chan error, len(streams))
	for _, st := range streams {
		st.Write([]byte{byte(channel.Sync)})
		st.SetReadDeadline(time.Now().Add(10 * time.Second))
		go func() {
			_, err := st.Read(make([]byte, 1))
			reset <- err
		}()
	}
	refused := false
	for range streams {
		if err := <-reset; err != nil && !os.IsTimeout(err) {
			refused = true
			break
		}
	}
	if !refused {
		t.Errorf("none of three direct streams from one peer was refused")
	}
	c.closeAndVerify()
}

// A peer that stops reading cannot tie up the node: with megabytes stuck
// in its queue, the service reports that writing to it has stalled, the
// state machine drops it with its own reason ("slow peer"), and the close
// completes within the close deadline.
func TestPeerThatStopsReadingIsDroppedAsSlow(t *testing.T) {
	c := newCluster(t)
	rules := state.DefaultConfig("test")
	rules.WriteStallTimeout = 2 * time.Second
	target := c.start("target", &rules)
	r := newRawPeer(t)
	r.connect(target)
	r.hello("test", time.Now().Unix())
	r.waitMsg("HelloAck", func(m message.Message) bool { _, ok := m.(message.HelloAck); return ok })
	id := state.PeerID(r.h.ID().String())
	waitFor(t, 10*time.Second, describePeers(target), func() bool { return readyWith(target, id) })

	r.stalled.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	big := make([]byte, 1<<20)
	for range 64 {
		if err := target.Send(ctx, id, channel.Sync, big); err != nil {
			break // the queue is full, or the peer is gone already
		}
	}
	waitFor(t, 30*time.Second, describePeers(target), func() bool {
		for _, p := range target.Peers() {
			if p.ID == id {
				return false
			}
		}
		return true
	})
	r.waitDisconnect("nothing: it stopped reading")
	if n := counters(target).Disconnects[state.ReasonSlowPeer]; n != 1 {
		t.Errorf("%d peers dropped as slow, want 1", n)
	}
	c.closeAndVerify()
	if n := countInputs(t, target.log, func(a action.Action) bool {
		s, ok := a.(action.WriteStalled)
		return ok && s.Peer == id && !s.Gossip
	}); n != 1 {
		t.Errorf("the service reported the stall %d times, want once", n)
	}
	if n := countInputs(t, target.log, func(a action.Action) bool {
		d, ok := a.(action.Disconnected)
		return ok && d.Peer == id
	}); n != 1 {
		t.Errorf("the service reported the peer gone %d times, want once", n)
	}
}

// countInputs counts the input actions of a log that match.
func countInputs(t *testing.T, path string, match func(action.Action) bool) int {
	t.Helper()
	rd, err := replay.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	n := 0
	for {
		rec, err := rd.Next()
		if err != nil {
			return n
		}
		if rec.Action != nil && match(rec.Action) {
			n++
		}
	}
}

// A broadcast over its channel's size limit is refused by GossipSub's
// validator at the first honest node: it is neither delivered nor
// relayed, and the peer that sent it is scored.
func TestOversizedBroadcastIsNotRelayed(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	sub := b.Subscribe(channel.Transaction)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool {
		return readyWith(a, b.ID()) && len(a.BroadcastPeers(channel.Transaction)) == 1
	})

	r := newRawPeer(t)
	ps, err := pubsub.NewGossipSub(t.Context(), r.h, pubsub.WithMaxMessageSize(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(p2p.Topic("test", "transaction", 1))
	if err != nil {
		t.Fatal(err)
	}
	r.connect(a)
	r.hello("test", time.Now().Unix())
	waitFor(t, 10*time.Second, func() string { return "the raw peer to see a on the topic" }, func() bool {
		return len(topic.ListPeers()) > 0
	})
	receivedByB := func() (n uint64) {
		b.State(t.Context(), func(s *state.State) {
			n = s.Counters.Dropped["MessageReceived"]
			for _, p := range s.Peers {
				n += p.Received[channel.Transaction]
			}
		})
		return n
	}
	before := receivedByB()
	if err := topic.Publish(t.Context(), make([]byte, 3<<20)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() string { return "a to score the oversized broadcast" }, func() bool {
		return counters(a).Offences[state.OffenceOversized] > 0
	})
	// Anything a relayed would reach b before this later message.
	if err := a.Broadcast(t.Context(), channel.Transaction, []byte("small")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.C():
		if string(m.Data) != "small" {
			t.Errorf("b got a %d-byte broadcast first", len(m.Data))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b did not receive a's broadcast")
	}
	if got := receivedByB(); got != before+1 {
		t.Errorf("b saw %d transaction messages, want 1: the oversized one was relayed", got-before)
	}
	c.closeAndVerify()
}

// A peer that subscribes to a broadcast channel and then reads nothing
// fills its GossipSub queue. The publisher waits for slow peers (that is
// the back-pressure that keeps bursts lossless); a queue that stays full
// without moving is reported as a stall, the state machine drops the
// frozen peer as slow, and an honest peer still gets every message of a
// burst.
func TestFrozenGossipPeerDoesNotStallBroadcasts(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	sub := b.Subscribe(channel.Transaction)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool {
		return readyWith(a, b.ID()) && len(a.BroadcastPeers(channel.Transaction)) == 1
	})

	// The frozen peer takes GossipSub's streams and never reads them, and
	// tells a by hand that it subscribes to the transaction topic.
	r := newRawPeer(t)
	for _, id := range []protocol.ID{pubsub.GossipSubID_v10, pubsub.GossipSubID_v11, pubsub.GossipSubID_v12, pubsub.GossipSubID_v13} {
		r.h.SetStreamHandler(id, func(s network.Stream) { <-t.Context().Done(); s.Reset() })
	}
	r.connect(a)
	r.hello("test", time.Now().Unix())
	// Waiting on the frozen peer would hold the burst until GossipSub's own
	// 30 s write timeout gave up on it; without waiting, it takes seconds.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	st, err := r.h.NewStream(ctx, r.target, pubsub.GossipSubID_v11)
	if err != nil {
		t.Fatal(err)
	}
	rpc, _ := proto.Marshal(&pb.RPC{Subscriptions: []*pb.RPC_SubOpts{{
		Subscribe: proto.Bool(true), Topicid: proto.String(p2p.Topic("test", "transaction", 1)),
	}}})
	st.Write(append(binary.AppendUvarint(nil, uint64(len(rpc))), rpc...))
	waitFor(t, 10*time.Second, func() string { return "the frozen peer on a's topic" }, func() bool {
		return len(a.BroadcastPeers(channel.Transaction)) == 2
	})

	const total = 8000 // more than the frozen peer's window and queue hold
	got := make(chan int)
	go func() {
		n := 0
		for n < total {
			select {
			case <-sub.C():
				n++
			case <-ctx.Done():
				got <- n
				return
			}
		}
		got <- n
	}()
	msg := make([]byte, 1024)
	for i := range total {
		binary.BigEndian.PutUint32(msg, uint32(i))
		if err := a.Broadcast(ctx, channel.Transaction, msg); err != nil {
			t.Fatalf("broadcast %d of %d: %v", i, total, err)
		}
	}
	if n := <-got; n != total {
		t.Errorf("the honest peer received %d of %d broadcasts", n, total)
	}
	if n := counters(a).Disconnects[state.ReasonSlowPeer]; n != 1 {
		t.Errorf("%d peers dropped as slow, want the frozen one", n)
	}
	c.closeAndVerify()
	frozen := state.PeerID(r.h.ID().String())
	if n := countInputs(t, a.log, func(x action.Action) bool {
		s, ok := x.(action.WriteStalled)
		return ok && s.Peer == frozen && s.Gossip
	}); n != 1 {
		t.Errorf("the service reported the frozen peer's stall %d times, want once", n)
	}
}
