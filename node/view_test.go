package node_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/state"
)

// State hands fn a copy: whatever fn does to it, now or later, the node's
// state is untouched — the node keeps its peer, its counters and its
// rules, and its log still verifies (a change to the live state would
// break the next checkpoint's hash).
func TestStateIsACopy(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool { return readyWith(a, b.ID()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var kept *state.State
	var handshakes uint64
	err := a.State(ctx, func(s *state.State) {
		// fn runs outside the node's goroutine: it may call the API.
		if !slices.Contains(a.ReadyPeers(), b.ID()) {
			t.Errorf("ReadyPeers inside fn misses b")
		}
		kept, handshakes = s, s.Counters.Handshakes
		for _, p := range s.Peers {
			p.Score = 1000
			p.Status = state.StatusDisconnecting
			p.Handshake.ListenAddrs[0] = "/ip4/6.6.6.6/tcp/666"
		}
		delete(s.Peers, b.ID())
		s.Bans["10.9.9.9"] = state.Ban{Until: s.Now + int64(time.Hour), Manual: true}
		s.Counters.Handshakes = 12345
		s.Counters.Disconnects[state.ReasonBanned] = 7
		s.Config.MaxInbound = 0
		s.Config.Channels[channel.Block].MaxSize = 1
		s.Channels[channel.Block].Published = 99
		s.Self.ListenAddrs[0] = "/ip4/6.6.6.6/tcp/666"
		s.Stopping = true
	})
	if err != nil {
		t.Fatal(err)
	}
	kept.Peers = nil // the copy is the caller's to keep, and to change
	kept.Now = 0

	// The node did not notice.
	if !readyWith(a, b.ID()) {
		t.Fatalf("a lost b: %s", describePeers(a, b)())
	}
	a.State(ctx, func(s *state.State) {
		p := s.Peers[b.ID()]
		switch {
		case p == nil:
			t.Fatal("b is not in a's peer table")
		case p.Score != 0 || p.Status != state.StatusReady || p.Handshake.ListenAddrs[0] == "/ip4/6.6.6.6/tcp/666":
			t.Errorf("b's entry changed: score %d, %s, %v", p.Score, p.Status, p.Handshake.ListenAddrs)
		}
		if _, ok := s.Bans["10.9.9.9"]; ok {
			t.Errorf("a ban was added")
		}
		if s.Counters.Handshakes != handshakes || s.Counters.Disconnects[state.ReasonBanned] != 0 {
			t.Errorf("counters changed: %d handshakes (was %d), %v", s.Counters.Handshakes, handshakes, s.Counters.Disconnects)
		}
		if s.Config.MaxInbound != state.DefaultConfig("test").MaxInbound || s.Config.Channels[channel.Block].MaxSize == 1 {
			t.Errorf("rules changed: max inbound %d, block max size %d", s.Config.MaxInbound, s.Config.Channels[channel.Block].MaxSize)
		}
		if s.Channels[channel.Block].Published == 99 || s.Self.ListenAddrs[0] == "/ip4/6.6.6.6/tcp/666" || s.Stopping {
			t.Errorf("state changed: %+v, %v, stopping %v", s.Channels[channel.Block], s.Self.ListenAddrs, s.Stopping)
		}
	})
	// The node still works: a's limit on blocks is intact.
	sub := b.Subscribe(channel.Block)
	defer sub.Close()
	waitFor(t, 10*time.Second, func() string { return "b on a's block topic" }, func() bool {
		return len(a.BroadcastPeers(channel.Block)) > 0
	})
	if err := a.Broadcast(ctx, channel.Block, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.C():
		if string(m.Data) != "still here" {
			t.Errorf("b got %q", m.Data)
		}
	case <-ctx.Done():
		t.Fatal("b got no block")
	}
	c.closeAndVerify()
	if err := a.State(ctx, func(*state.State) { t.Error("fn ran after Close") }); !errors.Is(err, node.ErrClosed) {
		t.Errorf("State after Close: %v, want ErrClosed", err)
	}
}

// Snapshot counts what the state holds, without copying it.
func TestSnapshot(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	before, err := a.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	channels := 0
	a.State(ctx, func(s *state.State) { channels = len(s.Channels) })
	if before.Peers != (node.PeerCounts{}) || before.ActionID == 0 || before.Time.IsZero() || len(before.Channels) != channels {
		t.Errorf("snapshot of a lone node: %+v", before)
	}

	b := c.start("b", nil, a)
	d := c.start("d", nil, a)
	waitFor(t, 20*time.Second, describePeers(a, b, d), func() bool {
		return readyWith(a, b.ID()) && readyWith(a, d.ID())
	})
	if err := a.Ban(ctx, "10.1.2.3", time.Hour, "test"); err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe(channel.Block)
	defer sub.Close()
	waitFor(t, 10*time.Second, func() string { return "b on a's block topic" }, func() bool {
		return slices.Contains(a.BroadcastPeers(channel.Block), b.ID())
	})
	if err := a.Broadcast(ctx, channel.Block, []byte("block")); err != nil {
		t.Fatal(err)
	}
	<-sub.C()

	snap, err := a.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want node.PeerCounts
	var handshakes uint64
	a.State(ctx, func(s *state.State) {
		handshakes = s.Counters.Handshakes
		for _, p := range s.Peers {
			if p.Status == state.StatusReady {
				want.Ready++
				if p.Dir == state.Inbound {
					want.ReadyInbound++
				} else {
					want.ReadyOutbound++
				}
			}
		}
	})
	if snap.Peers.Ready != 2 || snap.Peers.Ready != want.Ready || snap.Peers.ReadyInbound != want.ReadyInbound {
		t.Errorf("peers %+v, the state has %+v", snap.Peers, want)
	}
	if snap.ActionID <= before.ActionID || snap.Time.Before(before.Time) {
		t.Errorf("action #%d at %v, before #%d at %v", snap.ActionID, snap.Time, before.ActionID, before.Time)
	}
	if snap.Bans != 1 || snap.Handshakes < 2 || snap.Handshakes > handshakes {
		t.Errorf("bans %d, handshakes %d (state: %d)", snap.Bans, snap.Handshakes, handshakes)
	}
	if ch := snap.Channels[channel.Block]; ch.Channel != channel.Block || ch.Name != "block" || ch.Published != 1 {
		t.Errorf("block channel: %+v", ch)
	}
	c.closeAndVerify()
	if _, err := a.Snapshot(ctx); !errors.Is(err, node.ErrClosed) {
		t.Errorf("Snapshot after Close: %v, want ErrClosed", err)
	}
}
