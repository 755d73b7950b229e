package node_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

// The tests in this package run real go-libp2p hosts on 127.0.0.1 only,
// with every wait bounded by waitFor's timeout.

// testNode is a started node with the path of its action log.
type testNode struct {
	*node.Node
	name string
	log  string
	// ops holds what the node told its operator (slog, info and up).
	ops *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the node's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cluster starts nodes in one temporary directory and closes them at the
// end of the test.
type cluster struct {
	t     *testing.T
	dir   string
	nodes []*testNode
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{t: t, dir: t.TempDir()}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.Close()
		}
	})
	return c
}

// start starts a node that records its actions; rules may be nil.
func (c *cluster) start(name string, rules *state.Config, bootstrap ...*testNode) *testNode {
	c.t.Helper()
	return c.startWith(name, nil, rules, bootstrap...)
}

// startWith is start with a chance to change the node's Config.
func (c *cluster) startWith(name string, tweak func(*node.Config), rules *state.Config, bootstrap ...*testNode) *testNode {
	c.t.Helper()
	var boot []string
	for _, b := range bootstrap {
		boot = append(boot, b.Addrs()...)
	}
	level := slog.LevelError + 1
	if testing.Verbose() && os.Getenv("P2PCORE_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	tn := &testNode{name: name, log: filepath.Join(c.dir, name+".log"), ops: &syncBuffer{}}
	logger := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}),
		slog.NewTextHandler(tn.ops, &slog.HandlerOptions{Level: slog.LevelInfo}),
	)).With("node", name)
	cfg := node.Config{
		Network:         "test",
		Listen:          []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap:       boot,
		DataDir:         filepath.Join(c.dir, name),
		Record:          tn.log,
		CheckpointEvery: 64,
		TickInterval:    50 * time.Millisecond,
		Rules:           rules,
		Logger:          logger,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		c.t.Fatalf("%s: start: %v", name, err)
	}
	tn.Node = n
	c.nodes = append(c.nodes, tn)
	return tn
}

// closeAndVerify closes every node and replays every log, requiring every
// checkpoint to match and no invariant to fail.
func (c *cluster) closeAndVerify() {
	c.t.Helper()
	for _, n := range c.nodes {
		if err := n.Close(); err != nil {
			c.t.Errorf("%s: close: %v", n.name, err)
		}
	}
	for _, n := range c.nodes {
		verifyLog(c.t, n.name, n.log)
	}
}

func verifyLog(t *testing.T, name, path string) replay.Summary {
	t.Helper()
	sum, err := replay.VerifyFile(path, replay.Options{CheckInvariants: true})
	switch {
	case err != nil:
		t.Errorf("%s: replay: %v", name, err)
	case !sum.Complete:
		t.Errorf("%s: log not complete", name)
	case sum.Violations > 0:
		t.Errorf("%s: %d invariant violations, first: %v", name, sum.Violations, sum.FirstViolation)
	case sum.Checkpoints < sum.LastID/64:
		t.Errorf("%s: only %d checkpoints verified in %d actions", name, sum.Checkpoints, sum.LastID)
	}
	return sum
}

// waitFor polls cond until it holds or the timeout passes; what describes
// the condition for the failure message.
func waitFor(t *testing.T, timeout time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readyWith reports whether n has a Ready peer with the given ID.
func readyWith(n *testNode, id state.PeerID) bool {
	for _, p := range n.ReadyPeers() {
		if p == id {
			return true
		}
	}
	return false
}

// counters reads a node's metrics inside its loop.
func counters(n *testNode) state.Counters {
	var c state.Counters
	n.State(context.Background(), func(s *state.State) {
		c = s.Counters
		c.Disconnects = clone(s.Counters.Disconnects)
		c.RemoteDisconnects = clone(s.Counters.RemoteDisconnects)
		c.Offences = clone(s.Counters.Offences)
	})
	return c
}

func clone[K comparable](m map[K]uint64) map[K]uint64 {
	out := make(map[K]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func describePeers(nodes ...*testNode) func() string {
	return func() string {
		s := ""
		for _, n := range nodes {
			s += fmt.Sprintf("\n  %s (%s): %d ready of %d", n.name, n.ID().Short(), len(n.ReadyPeers()), len(n.Peers()))
		}
		return s
	}
}
