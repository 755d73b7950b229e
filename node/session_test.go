package node_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/session"
	"github.com/p2pcore/p2pcore/state"
)

// sessionCounts reads each session network's outbound count and ended
// sessions.
func sessionCounts(n *testNode) (out []int, ended []uint64) {
	n.State(context.Background(), func(s *state.State) {
		for _, net := range s.Sessions.Networks {
			out = append(out, net.Outbound)
			ended = append(ended, net.Succeeded+net.TimedOut+net.Failed)
		}
	})
	return out, ended
}

// TestSessionsShareConnections runs three session networks (chains) on
// four real go-libp2p nodes: every node keeps its target on every chain,
// sessions rotate through their timeouts, each peer is reached over one
// connection that carries the sessions of several chains, the cut
// exchange brings every node to the same cut, and every log replays.
func TestSessionsShareConnections(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	nodes := []*testNode{a, c.start("b", nil, a), c.start("c", nil, a), c.start("d", nil, a)}
	waitFor(t, 20*time.Second, describePeers(nodes...), func() bool {
		for _, n := range nodes {
			if len(n.ReadyPeers()) < 3 {
				return false
			}
		}
		return true
	})
	const chains = 3
	var before []map[state.PeerID]node.ConnInfo
	for _, n := range nodes {
		before = append(before, node.SessionConns(n.Node))
	}
	cuts := make([]*session.Cut, len(nodes))
	for i, n := range nodes {
		cuts[i] = session.NewCut(chains)
		for range i + 1 {
			cuts[i].Advance(i % chains)
		}
		for ch := range chains {
			err := n.RunSessions(fmt.Sprintf("chain-%d", ch), cuts[i].Session(false),
				session.Config{Target: 2, Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.RunSessions("chain-0", cuts[0].Session(false), session.Config{}); err == nil {
		t.Fatal("a second chain-0 started")
	}
	waitFor(t, 20*time.Second, func() string {
		s := ""
		for _, n := range nodes {
			out, ended := sessionCounts(n)
			s += fmt.Sprintf("\n  %s: outbound %v, ended %v", n.name, out, ended)
		}
		return s
	}, func() bool {
		for _, n := range nodes {
			out, ended := sessionCounts(n)
			if len(out) != chains || slices.Min(out) < 2 || slices.Min(ended) < 4 || n.sharedNow() == 0 {
				return false
			}
		}
		return true
	})
	// Sessions opened no connection, and the sessions of several chains
	// share one.
	shared := 0
	for i, n := range nodes {
		conns := node.SessionConns(n.Node)
		if len(conns) != len(before[i]) {
			t.Errorf("%s: connections to %d peers before the sessions, %d after", n.name, len(before[i]), len(conns))
		}
		for peer, c := range conns {
			if !slices.Equal(c.Conns, before[i][peer].Conns) {
				t.Errorf("%s: connections to %s were %v before the sessions, %v after", n.name, peer.Short(), before[i][peer].Conns, c.Conns)
			}
			for _, protos := range c.Sessions {
				if len(protos) >= 2 {
					shared++
				}
			}
		}
	}
	if shared == 0 {
		t.Error("no connection carried the sessions of two chains at once")
	}
	want := []uint64{0, 0, 0}
	for _, cut := range cuts {
		for i, h := range cut.Heights() {
			want[i] = max(want[i], h)
		}
	}
	waitFor(t, 10*time.Second, func() string {
		s := ""
		for i, cut := range cuts {
			s += fmt.Sprintf("\n  %s: %v, want %v", nodes[i].name, cut.Heights(), want)
		}
		return s
	}, func() bool {
		for _, cut := range cuts {
			if !slices.Equal(cut.Heights(), want) {
				return false
			}
		}
		return true
	})
	c.closeAndVerify()
}

// sharedNow counts the node's connections that carry the sessions of two
// networks or more right now.
func (n *testNode) sharedNow() int {
	shared := 0
	for _, c := range node.SessionConns(n.Node) {
		for _, protos := range c.Sessions {
			if len(protos) >= 2 {
				shared++
			}
		}
	}
	return shared
}

// TestSessionOverflow: a session whose peer does not read fails on both
// ends with ErrBufferOverflow.
func TestSessionOverflow(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool { return readyWith(a, b.ID()) && readyWith(b, a.ID()) })
	var mu sync.Mutex
	var flooders, sleepers []error
	flood := func(ctx context.Context, conn session.Conn) error {
		var err error
		for range 20 {
			if err = conn.Send(ctx, []byte("x")); err != nil {
				break
			}
		}
		if err == nil {
			_, err = conn.Receive(ctx)
		}
		mu.Lock()
		flooders = append(flooders, err)
		mu.Unlock()
		return err
	}
	sleep := func(ctx context.Context, conn session.Conn) error {
		<-ctx.Done()
		err := context.Cause(ctx)
		mu.Lock()
		sleepers = append(sleepers, err)
		mu.Unlock()
		return err
	}
	cfg := session.Config{Target: 2, Timeout: 5 * time.Second, BufferMessages: 4, BufferBytes: 1024, MaxMessage: 64}
	if err := a.RunSessions("flood", flood, cfg); err != nil {
		t.Fatal(err)
	}
	if err := b.RunSessions("flood", sleep, cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() string { return fmt.Sprintf("flooders %v, sleepers %v", flooders, sleepers) }, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(flooders) >= 2 && len(sleepers) >= 2
	})
	// The first sessions on each side; later ones may meet go-libp2p's
	// stream limits, so fast does this workload churn.
	mu.Lock()
	for _, err := range append(slices.Clone(flooders[:2]), sleepers[:2]...) {
		if !errors.Is(err, session.ErrBufferOverflow) {
			t.Errorf("a session ended with %v, want ErrBufferOverflow", err)
		}
	}
	mu.Unlock()
	var failed uint64
	b.State(context.Background(), func(s *state.State) { failed = s.Sessions.Networks[0].Failed })
	if failed == 0 {
		t.Error("b counted no failed session")
	}
	c.closeAndVerify()
}
