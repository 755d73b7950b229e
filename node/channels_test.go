package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/state"
)

// Two nodes with different channel sets talk on the channels they share,
// whatever number each gives them: "votes" is channel 1 at a and 2 at b,
// "blocks" 2 at a and 1 at b. A channel only one has, or one both name
// but at different versions, is not shared: sends on it are refused
// before they reach the wire, and broadcasts on it reach nobody.
func TestNodesWithDifferentChannelSetsShareTheCommonOnes(t *testing.T) {
	c := newCluster(t)
	votes := state.ChannelConfig{Name: "votes", Kind: state.Broadcast, Version: 1, Priority: true, MaxSize: 4096, QueueLimit: 64}
	blocks := state.ChannelConfig{Name: "blocks", Kind: state.Direct, Version: 1, MaxSize: 1 << 20, QueueLimit: 16}
	onlyA := state.ChannelConfig{Name: "only-a", Kind: state.Direct, Version: 1, MaxSize: 1024, QueueLimit: 16}
	txsV1 := state.ChannelConfig{Name: "txs", Kind: state.Broadcast, Version: 1, MaxSize: 1024, QueueLimit: 16}
	txsV2 := txsV1
	txsV2.Version = 2
	a := c.startWith("a", func(cfg *node.Config) {
		cfg.Channels = []state.ChannelConfig{votes, blocks, onlyA, txsV1}
	}, nil)
	b := c.startWith("b", func(cfg *node.Config) {
		cfg.Channels = []state.ChannelConfig{blocks, votes, txsV2}
	}, nil, a)
	ch := func(n *testNode, name string) state.Channel {
		t.Helper()
		x, ok := n.Channel(name)
		if !ok {
			t.Fatalf("%s has no channel %q", n.name, name)
		}
		return x
	}
	if ch(a, "votes") == ch(b, "votes") || ch(a, "blocks") == ch(b, "blocks") {
		t.Fatalf("the test wants the shared channels numbered differently at a and b")
	}
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool {
		return readyWith(a, b.ID()) && readyWith(b, a.ID()) && len(a.BroadcastPeers(ch(a, "votes"))) == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	bVotes, bBlocks, bTxs := b.Subscribe(ch(b, "votes")), b.Subscribe(ch(b, "blocks")), b.Subscribe(ch(b, "txs"))
	aBlocks := a.Subscribe(ch(a, "blocks"))
	if err := a.Broadcast(ctx, ch(a, "votes"), []byte("vote 1")); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, b.ID(), ch(a, "blocks"), []byte("block from a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(ctx, a.ID(), ch(b, "blocks"), []byte("block from b")); err != nil {
		t.Fatal(err)
	}
	if err := a.Broadcast(ctx, ch(a, "txs"), []byte("tx of version 1")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, bVotes, "vote 1")
	expectMessage(t, bBlocks, "block from a")
	expectMessage(t, aBlocks, "block from b")

	err := a.Send(ctx, b.ID(), ch(a, "only-a"), []byte("x"))
	if !errors.Is(err, reducer.ErrNotShared) {
		t.Errorf("a send on a channel b does not have: %v, want ErrNotShared", err)
	}
	// The version 1 broadcast went to a topic b is not on: b's txs
	// subscription sees nothing (checked after a later message that
	// travelled the same way).
	if err := a.Broadcast(ctx, ch(a, "votes"), []byte("vote 2")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, bVotes, "vote 2")
	select {
	case m := <-bTxs.C():
		t.Errorf("b received %q on txs version 2", m.Data)
	default:
	}
	var remote []state.Channel
	a.State(ctx, func(s *state.State) { remote = s.Peers[b.ID()].Remote })
	if remote[ch(a, "votes")] != ch(b, "votes") || remote[ch(a, "blocks")] != ch(b, "blocks") || remote[ch(a, "only-a")] != 0 || remote[ch(a, "txs")] != 0 {
		t.Errorf("a's map of b's channel numbers is %v", remote)
	}
	c.closeAndVerify()
}
