package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

var broadcastChannels = []state.Channel{channel.Block, channel.Transaction, channel.SnarkWork}

// startFive starts a bootnode and four nodes that know only the bootnode,
// and waits until every node is ready with every other one and GossipSub
// knows every subscription.
func startFive(t *testing.T) (*cluster, []*testNode) {
	c := newCluster(t)
	boot := c.start("boot", nil)
	nodes := []*testNode{boot}
	for i := 1; i < 5; i++ {
		nodes = append(nodes, c.start(fmt.Sprintf("n%d", i), nil, boot))
	}
	waitFor(t, 30*time.Second, describePeers(nodes...), func() bool {
		for _, n := range nodes {
			if len(n.ReadyPeers()) < len(nodes)-1 {
				return false
			}
		}
		return true
	})
	waitFor(t, 30*time.Second, func() string { return "GossipSub subscriptions" }, func() bool {
		for _, n := range nodes {
			for _, ch := range broadcastChannels {
				if len(n.BroadcastPeers(ch)) < len(nodes)-1 {
					return false
				}
			}
		}
		return true
	})
	return c, nodes
}

// Five nodes that start from one bootnode find each other; a message
// broadcast on each broadcast channel by each node reaches every other
// node exactly once; every recorded log then replays with all checkpoints.
func TestFiveNodesGossipOnEveryBroadcastChannel(t *testing.T) {
	c, nodes := startFive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	subs := make([][]*node.Subscription, len(nodes))
	for i, n := range nodes {
		for _, ch := range broadcastChannels {
			subs[i] = append(subs[i], n.Subscribe(ch))
		}
	}
	for i, n := range nodes {
		for _, ch := range broadcastChannels {
			if err := n.Broadcast(ctx, ch, []byte(fmt.Sprintf("%s from %d", ch, i))); err != nil {
				t.Fatalf("%s: broadcast on %s: %v", n.name, ch, err)
			}
		}
	}
	for i, n := range nodes {
		for k, ch := range broadcastChannels {
			want := map[string]bool{}
			for j := range nodes {
				if j != i {
					want[fmt.Sprintf("%s from %d", ch, j)] = true
				}
			}
			for len(want) > 0 {
				select {
				case m := <-subs[i][k].C():
					if m.Channel != ch {
						t.Errorf("%s: message on %s delivered to the %s subscription", n.name, m.Channel, ch)
					}
					if !want[string(m.Data)] {
						t.Errorf("%s: unexpected or duplicate %q on %s", n.name, m.Data, ch)
					}
					delete(want, string(m.Data))
				case <-ctx.Done():
					t.Fatalf("%s: on %s still missing %v", n.name, ch, want)
				}
			}
		}
	}
	// Nothing more arrives: in particular a node does not hear its own.
	time.Sleep(200 * time.Millisecond)
	for i, n := range nodes {
		for k := range broadcastChannels {
			select {
			case m := <-subs[i][k].C():
				t.Errorf("%s: extra message %q", n.name, m.Data)
			default:
			}
		}
	}
	c.closeAndVerify()
}

// Direct messages go both ways between two ready peers, on the data
// channels, with payloads up to the channel limit; a payload over it is
// refused by the API before it reaches the network.
func TestDirectMessagesBothWays(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool { return readyWith(a, b.ID()) && readyWith(b, a.ID()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	aSync, bSync := a.Subscribe(channel.Sync), b.Subscribe(channel.Sync)
	big := bytes.Repeat([]byte{0xab}, 1<<20)
	for i := 0; i < 10; i++ {
		if err := a.Send(ctx, b.ID(), channel.Sync, []byte(fmt.Sprintf("a→b %d", i))); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(ctx, a.ID(), channel.Sync, []byte(fmt.Sprintf("b→a %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Send(ctx, b.ID(), channel.Sync, big); err != nil {
		t.Fatal(err)
	}
	expect := func(sub *node.Subscription, from state.PeerID, want []byte) {
		t.Helper()
		select {
		case m := <-sub.C():
			if m.From != from || !bytes.Equal(m.Data, want) {
				t.Fatalf("got %d bytes %.20q from %s, want %.20q from %s", len(m.Data), m.Data, m.From.Short(), want, from.Short())
			}
		case <-ctx.Done():
			t.Fatalf("no message %.20q from %s", want, from.Short())
		}
	}
	for i := 0; i < 10; i++ {
		expect(bSync, a.ID(), []byte(fmt.Sprintf("a→b %d", i)))
		expect(aSync, b.ID(), []byte(fmt.Sprintf("b→a %d", i)))
	}
	expect(bSync, a.ID(), big)

	var limit int
	a.State(ctx, func(s *state.State) { limit = s.Config.Channels[channel.Sync].MaxSize })
	err := a.Send(ctx, b.ID(), channel.Sync, make([]byte, limit+1))
	if !errors.Is(err, reducer.ErrTooLarge) {
		t.Errorf("oversized send: got %v, want ErrTooLarge", err)
	}
	if err := a.Send(ctx, "12D3KooWNotAPeerWeKnow", channel.Sync, []byte("x")); err == nil {
		t.Error("send to an unknown peer succeeded")
	}
	c.closeAndVerify()
}

// When a node goes away, its peers notice: its entry leaves their state
// and the reason it gave (shutdown) is counted.
func TestPeerDisconnectIsNoticed(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	d := c.start("d", nil, a)
	waitFor(t, 20*time.Second, describePeers(a, b, d), func() bool {
		return readyWith(a, b.ID()) && readyWith(a, d.ID()) && readyWith(b, d.ID())
	})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	gone := func(n *testNode) bool {
		for _, p := range n.Peers() {
			if p.ID == d.ID() {
				return false
			}
		}
		return true
	}
	waitFor(t, 10*time.Second, describePeers(a, b), func() bool { return gone(a) && gone(b) })
	for _, n := range []*testNode{a, b} {
		if got := counters(n).RemoteDisconnects[state.ReasonShutdown]; got == 0 {
			t.Errorf("%s: the departing peer's reason (shutdown) was not counted", n.name)
		}
		if !readyWith(n, map[*testNode]*testNode{a: b, b: a}[n].ID()) {
			t.Errorf("%s: lost its other peer too", n.name)
		}
	}

	// The departing node recorded its Shutdown and let no one in after it,
	// and its peers did not dial it straight back.
	afterShutdown(t, d)
	for _, n := range []*testNode{a, b} {
		for _, want := range [][]string{
			{`msg="peer ready"`, "peer=" + string(d.ID())},
			{`msg="peer gone"`, "peer=" + string(d.ID()), "their_reason=shutdown"},
		} {
			if !logged(n.ops.String(), want...) {
				t.Errorf("%s: no line of the operator log holds all of %q:\n%s", n.name, want, n.ops)
			}
		}
	}

	// A disconnect asked through the API tells the peer why.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Disconnect(ctx, b.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, describePeers(a, b), func() bool {
		return counters(b).RemoteDisconnects[state.ReasonRequested] > 0
	})
	c.closeAndVerify()
}

// afterShutdown reads n's action log and fails if n had no Shutdown input,
// or if any peer became ready after it.
func afterShutdown(t *testing.T, n *testNode) {
	t.Helper()
	rd, err := replay.Open(n.log)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	stopped := false
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		switch {
		case rec.Kind == action.KindShutdown:
			stopped = true
		case stopped && rec.Kind == action.KindPeerReady && !rec.Dropped:
			t.Errorf("%s: a peer became ready after Shutdown (action #%d)", n.name, rec.Meta.ID)
		}
	}
	if !rd.Ended() {
		t.Errorf("%s: the log has no end record", n.name)
	}
	if !stopped {
		t.Errorf("%s: Close recorded no Shutdown", n.name)
	}
}

// logged reports whether one line of the log holds every part.
func logged(log string, parts ...string) bool {
	for line := range strings.Lines(log) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// Close may race with itself and with Subscribe: every call returns, none
// panics, and a subscription made during or after Close ends with
// ErrClosed. (Run under -race to check the locking too.)
func TestConcurrentCloseAndSubscribe(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool { return readyWith(a, b.ID()) })

	errs := make(chan error, 3)
	stop := make(chan struct{})
	subscribed := make(chan error, 1)
	go func() {
		for {
			s := b.Subscribe(channel.Block)
			select {
			case <-stop:
				<-s.C() // closed once Close has ended every subscription
				subscribed <- s.Err()
				return
			default:
				s.Close()
			}
		}
	}()
	for range 3 {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					errs <- fmt.Errorf("Close panicked: %v", r)
				}
			}()
			errs <- b.Close()
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(stop)
	if err := <-subscribed; !errors.Is(err, node.ErrClosed) {
		t.Errorf("a subscription made around Close ended with %v, want ErrClosed", err)
	}
	verifyLog(t, "b", b.log)
}

// An API call whose input the action log could not read back is refused
// with ErrInvalid before it reaches the store, and the log stays whole.
func TestAPIRefusesWhatTheLogCannotHold(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	ctx := t.Context()
	if err := a.Ban(ctx, "203.0.113.7", time.Hour, strings.Repeat("x", 70000)); !errors.Is(err, reducer.ErrInvalid) {
		t.Errorf("a ban with a 70,000-byte reason: %v, want ErrInvalid", err)
	}
	many := make([]state.PeerAddr, 70000)
	for i := range many {
		many[i] = state.PeerAddr{ID: state.PeerID(fmt.Sprintf("peer%d", i)), Addrs: []state.Addr{"/ip4/10.0.0.1/tcp/1"}}
	}
	if err := a.AddPeers(ctx, many); !errors.Is(err, reducer.ErrInvalid) {
		t.Errorf("70,000 peers at once: %v, want ErrInvalid", err)
	}
	if err := a.Ban(ctx, "203.0.113.7", time.Hour, "ok"); err != nil {
		t.Errorf("an ordinary ban after them: %v", err)
	}
	c.closeAndVerify()
}

// Restarting a node with the same Record path keeps the previous run's
// log (renamed to .1) instead of overwriting it; both verify.
func TestRestartKeepsThePreviousLog(t *testing.T) {
	c := newCluster(t)
	first := c.start("a", nil)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	firstSum := verifyLog(t, "a (first run)", first.log)
	second := c.start("a", nil)
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	kept := verifyLog(t, "a (first run, kept)", first.log+".1")
	if kept.Final != firstSum.Final {
		t.Errorf("the kept log ends at %s, the first run ended at %s", kept.Final.Short(), firstSum.Final.Short())
	}
	verifyLog(t, "a (second run)", second.log)
	if !logged(second.ops.String(), `msg="kept the previous action log"`, first.log+".1") {
		t.Errorf("the operator was not told where the old log went:\n%s", second.ops)
	}
}

// A peer sending bulk sync data faster than its budget is slowed down,
// not refused or scored: every message arrives, in order, and the sender
// stays connected with a clean score (issue "Hostile peers": budgets must
// not cost honest peers their data).
func TestBulkSyncOverBudgetIsSlowedNotDropped(t *testing.T) {
	c := newCluster(t)
	rules := state.DefaultConfig("test")
	// 8 MiB/s with a 2 s burst: 40 MiB goes over it within the first
	// half and takes about 3 s more.
	rules.Channels[channel.Sync].Budget = state.Budget{Msgs: 1000, Bytes: 8 * state.MiB, Burst: 2 * time.Second}
	a := c.start("a", &rules)
	b := c.start("b", &rules, a)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool { return readyWith(a, b.ID()) && readyWith(b, a.ID()) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const count = 40
	sub := b.Subscribe(channel.Sync)
	go func() {
		for i := range count {
			msg := bytes.Repeat([]byte{byte(i)}, 1<<20)
			if err := a.Send(ctx, b.ID(), channel.Sync, msg); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
	}()
	for i := range count {
		select {
		case m := <-sub.C():
			if len(m.Data) != 1<<20 || m.Data[0] != byte(i) {
				t.Fatalf("message %d: got %d bytes starting %d", i, len(m.Data), m.Data[0])
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d messages arrived; b's counters: %+v", i, count, counters(b))
		}
	}
	got := counters(b)
	if got.Throttles == 0 {
		t.Errorf("a was never throttled: the test did not go over the budget")
	}
	var score int
	var refused uint64
	var connected bool
	b.State(ctx, func(s *state.State) {
		refused = s.Channels[channel.Sync].Refused
		if p, ok := s.Peers[a.ID()]; ok {
			score, connected = p.Score, p.Status == state.StatusReady
		}
	})
	if refused != 0 {
		t.Errorf("%d sync messages refused", refused)
	}
	if !connected || score != 0 {
		t.Errorf("a at b: ready %v, score %d; want ready with score 0", connected, score)
	}
	c.closeAndVerify()
}
