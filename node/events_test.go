package node_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/state"
)

// eventLog reads an event subscription in the background.
type eventLog struct {
	sub  *node.EventSubscription
	mu   sync.Mutex
	evs  []node.Event
	done chan struct{}
}

func readEvents(sub *node.EventSubscription) *eventLog {
	l := &eventLog{sub: sub, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range sub.C() {
			l.mu.Lock()
			l.evs = append(l.evs, ev)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *eventLog) all() []node.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]node.Event(nil), l.evs...)
}

// of returns the events about peer (as Peer or as the ban Target).
func (l *eventLog) of(peer state.PeerID) []node.Event {
	var out []node.Event
	for _, ev := range l.all() {
		if ev.Peer == peer || ev.Target == string(peer) {
			out = append(out, ev)
		}
	}
	return out
}

// wait waits until the events about peer have the given kinds so far.
func (l *eventLog) wait(t *testing.T, peer state.PeerID, kinds ...node.EventKind) []node.Event {
	t.Helper()
	var got []node.Event
	waitFor(t, 20*time.Second, func() string {
		return fmt.Sprintf("events %v about %s, got:%s", kinds, peer.Short(), describeEvents(got))
	}, func() bool {
		got = l.of(peer)
		return len(got) >= len(kinds)
	})
	for i, k := range kinds {
		if got[i].Kind != k {
			t.Fatalf("events about %s: want kinds %v, got:%s", peer.Short(), kinds, describeEvents(got))
		}
	}
	return got
}

// ended waits for the subscription to be closed.
func (l *eventLog) ended(t *testing.T) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the event subscription was not closed")
	}
}

func describeEvents(evs []node.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString("\n  " + ev.String())
	}
	return b.String()
}

// A peer's events arrive in the order the state machine decided them —
// ready, misbehaved, banned, gone — with our reason and the peer's, and
// replaying the node's log derives exactly the events the subscriber got.
func TestPeerEventsInOrder(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", fastRules())
	evs := readEvents(a.SubscribeEvents(0))
	b := c.start("b", fastRules(), a)

	// An honest peer: ready, then banned through the API, then gone.
	got := evs.wait(t, b.ID(), node.EventPeerReady)
	if ev := got[0]; ev.Direction != state.Inbound || ev.Software == "" || ev.Addr == "" || ev.ActionID == 0 || ev.Time.IsZero() {
		t.Errorf("ready event lacks details: %s (%+v)", ev, ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Ban(ctx, string(b.ID()), time.Hour, "test ban"); err != nil {
		t.Fatal(err)
	}
	got = evs.wait(t, b.ID(), node.EventPeerReady, node.EventBanned, node.EventPeerGone)
	if ev := got[1]; ev.Target != string(b.ID()) || !ev.Manual || ev.Detail != "test ban" || ev.Peer != "" ||
		ev.Until.Sub(ev.Time) != time.Hour {
		t.Errorf("ban event: %s (%+v)", ev, ev)
	}
	if ev := got[2]; ev.Reason != state.ReasonBanned || ev.Peer != b.ID() {
		t.Errorf("gone event: %s, want reason %q", ev, state.ReasonBanned)
	}

	// A hostile peer: ready, then garbage on the control channel scores
	// it to the threshold, which bans and drops it.
	r := newRawPeer(t)
	r.connect(a)
	r.hello("test", time.Now().Unix())
	r.waitMsg("HelloAck", func(m message.Message) bool { _, ok := m.(message.HelloAck); return ok })
	rid := state.PeerID(r.h.ID().String())
	evs.wait(t, rid, node.EventPeerReady)
	junk := []byte{0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef}
	r.frame(byte(state.ChannelControl), uint64(len(junk)), junk)
	got = evs.wait(t, rid, node.EventPeerReady, node.EventMisbehaved, node.EventBanned, node.EventPeerGone)
	ready, bad, ban, gone := got[0], got[1], got[2], got[3]
	if ready.Software != "rawpeer/1" || ready.Direction != state.Inbound {
		t.Errorf("ready event: %s", ready)
	}
	if bad.Offence != state.OffenceMalformed || bad.Score < state.DefaultConfig("test").BanThreshold {
		t.Errorf("misbehaved event: %s, want a malformed offence at the threshold", bad)
	}
	if ban.Target != string(rid) || ban.Peer != rid || ban.Manual || ban.ActionID != bad.ActionID {
		t.Errorf("ban event: %s (%+v), want the discouragement earned by action #%d", ban, ban, bad.ActionID)
	}
	if gone.Reason != state.ReasonMisbehaviour {
		t.Errorf("gone event: %s, want reason %q", gone, state.ReasonMisbehaviour)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ActionID < got[i-1].ActionID {
			t.Errorf("events out of order:%s", describeEvents(got))
		}
	}
	r.waitDisconnect("garbage")

	c.closeAndVerify()
	evs.ended(t)
	if err := evs.sub.Err(); !errors.Is(err, node.ErrClosed) {
		t.Errorf("subscription ended with %v, want ErrClosed", err)
	}
	if n := evs.sub.Dropped(); n != 0 {
		t.Errorf("%d events dropped with a buffer of %d", n, node.DefaultEventBuffer)
	}

	t.Logf("events:%s", describeEvents(evs.all()))
	// The events are what the log records: a replay derives the same.
	live := evs.all()
	replayed, err := node.ReplayEvents(a.log)
	if err != nil {
		t.Fatal(err)
	}
	if describeEvents(live) != describeEvents(replayed) || len(live) != len(replayed) {
		t.Fatalf("events differ from the log's:\nlive:%s\nreplayed:%s", describeEvents(live), describeEvents(replayed))
	}
	for i := range live {
		if live[i] != replayed[i] {
			t.Errorf("event %d: live %+v, replayed %+v", i, live[i], replayed[i])
		}
	}
	// Every ready peer is reported gone exactly once, Close included.
	open := map[state.PeerID]bool{}
	for _, ev := range live {
		switch ev.Kind {
		case node.EventPeerReady:
			if open[ev.Peer] {
				t.Errorf("%s ready twice without gone", ev.Peer.Short())
			}
			open[ev.Peer] = true
		case node.EventPeerGone:
			if !open[ev.Peer] {
				t.Errorf("%s gone without ready", ev.Peer.Short())
			}
			delete(open, ev.Peer)
		}
	}
	if len(open) > 0 {
		t.Errorf("peers ready and never gone: %v\n%s", open, describeEvents(live))
	}
}

// A subscriber that never reads does not stall the node: its events are
// dropped for it alone and counted, and when it reads again a marker
// tells it how many it lost, and where.
func TestSlowEventSubscriberLosesEventsNotTheNode(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	slow := a.SubscribeEvents(2)
	fast := readEvents(a.SubscribeEvents(0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Each ban is one event, published before Ban returns.
	const bans = 20
	for i := 1; i <= bans; i++ {
		if err := a.Ban(ctx, fmt.Sprintf("10.0.0.%d", i), time.Hour, "flood"); err != nil {
			t.Fatal(err)
		}
	}
	if got := slow.Dropped(); got != bans-2 {
		t.Errorf("the slow subscriber dropped %d events, want %d", got, bans-2)
	}
	// Meanwhile the node runs: a peer joins, and the fast subscriber
	// sees everything.
	b := c.start("b", nil, a)
	fast.wait(t, b.ID(), node.EventPeerReady)
	waitFor(t, 10*time.Second, describePeers(a, b), func() bool { return readyWith(a, b.ID()) })

	// The slow subscriber reads what it kept, then one more event
	// arrives: the marker first, with the count of what it missed.
	for i := 1; i <= 2; i++ {
		if ev := <-slow.C(); ev.Kind != node.EventBanned || ev.Target != fmt.Sprintf("10.0.0.%d", i) {
			t.Fatalf("kept event %d: %s", i, ev)
		}
	}
	if err := a.Ban(ctx, "10.0.1.1", time.Hour, "last"); err != nil {
		t.Fatal(err)
	}
	marker, last := <-slow.C(), <-slow.C()
	if marker.Kind != node.EventLost || last.Kind != node.EventBanned || last.Target != "10.0.1.1" {
		t.Fatalf("after the gap: %s, %s; want a marker, then the last ban", marker, last)
	}
	if marker.ActionID != last.ActionID {
		t.Errorf("the marker carries action #%d, the event after it #%d", marker.ActionID, last.ActionID)
	}
	// The fast subscriber saw everything; the marker counts exactly the
	// events between the second ban and the last one.
	var missed uint64
	waitFor(t, 10*time.Second, func() string { return "the fast subscriber to see the last ban" + describeEvents(fast.all()) }, func() bool {
		i := slices.IndexFunc(fast.all(), func(ev node.Event) bool { return ev.Target == "10.0.1.1" })
		missed = uint64(i - 2) // the events after the two kept bans
		return i >= 0
	})
	if marker.Lost != missed {
		t.Errorf("the marker says %d lost, the fast subscriber saw %d in between", marker.Lost, missed)
	}
	if slow.Dropped() < missed {
		t.Errorf("Dropped() = %d, less than the %d the marker reported", slow.Dropped(), missed)
	}
	if n := fast.sub.Dropped(); n != 0 {
		t.Errorf("the fast subscriber dropped %d", n)
	}

	// Close ends both; a subscription after Close is closed at once.
	slow.Close()
	slow.Close()
	c.closeAndVerify()
	fast.ended(t)
	late := a.SubscribeEvents(0)
	if _, ok := <-late.C(); ok || !errors.Is(late.Err(), node.ErrClosed) {
		t.Errorf("a subscription after Close is open (err %v)", late.Err())
	}
}
