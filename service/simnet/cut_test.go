package simnet

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// connectedPair is a pair without loss, connected.
func connectedPair(t *testing.T) *pair {
	t.Helper()
	p := newPair(0)
	p.n.RunUntil(p.n.Now() + int64(time.Second))
	if p.connected == 0 {
		t.Fatal("no connection without loss")
	}
	return p
}

// inOrder fails unless b received exactly 0..want-1, in order.
func (p *pair) inOrder(t *testing.T, want int) {
	t.Helper()
	for i, v := range p.got {
		if v != uint32(i) {
			t.Fatalf("message %d arrived as number %d: the stream has a hole or is out of order (%v)", i, v, p.got)
		}
	}
	if len(p.got) != want {
		t.Fatalf("%d of %d messages arrived: %v", len(p.got), want, p.got)
	}
}

// A connection across a partition that heals within the retransmissions
// loses nothing: what was sent during the cut arrives after the heal, in
// order, and what was sent after the heal waits behind it.
func TestPartitionHoldsAConnectionsMessagesUntilTheHeal(t *testing.T) {
	for _, cut := range []struct {
		name string
		make func(p *pair)
	}{
		{"partition", func(p *pair) { p.n.Partition([]*Endpoint{p.a}) }},
		{"one-way", func(p *pair) { p.n.CutOneWay([]*Endpoint{p.a}) }},
	} {
		t.Run(cut.name, func(t *testing.T) {
			p := connectedPair(t)
			p.send(0, 10)
			cut.make(p)
			p.send(10, 200) // 1.9 s inside the cut
			healed := p.n.Now()
			p.n.Heal()
			p.send(200, 210)
			p.n.RunUntil(p.n.Now() + int64(time.Minute))
			p.inOrder(t, 210)
			// Nothing sent in the cut arrived before the heal.
			for i := 10; i < 200; i++ {
				if p.at[i] < healed {
					t.Fatalf("message %d arrived during the cut", i)
				}
			}
		})
	}
}

// gaveUp fails unless a closed the connection for a timeout and b heard
// of it.
func (p *pair) gaveUp(t *testing.T) {
	t.Helper()
	if !slices.Equal(p.closedA, []string{"connection timed out"}) || !slices.Equal(p.closedB, []string{"connection closed by peer"}) {
		t.Errorf("disconnections: a heard %q, b %q; want a timeout and a close", p.closedA, p.closedB)
	}
}

// A cut that outlasts the retransmissions stalls the connection: nothing
// sent in it or after it arrives, even once healed, and the side whose
// messages could not cross closes it. It closes it when the last
// retransmission fails, not before.
func TestLongCutStallsTheConnection(t *testing.T) {
	p := connectedPair(t)
	p.send(0, 10)
	p.n.CutOneWay([]*Endpoint{p.a})
	p.send(10, 20) // 100 ms
	p.n.RunUntil(p.n.Now() + int64(12*time.Second))
	if len(p.closedA) != 0 {
		t.Fatalf("a closed the connection before its retransmissions ran out: %q", p.closedA)
	}
	p.n.RunUntil(p.n.Now() + int64(18*time.Second)) // 200 ms × (2⁶ − 1) is 12.6 s
	p.n.Heal()
	p.send(20, 30)
	p.n.RunUntil(p.n.Now() + int64(time.Minute))
	p.inOrder(t, 10)
	p.gaveUp(t)
}

// trace is two endpoints, a and b, with what a heard in order.
type trace struct {
	n    *Network
	a, b *Endpoint
	log  []string
}

// newTrace makes a and b with a fixed latency; onIncoming runs when b
// hears of a's connection.
func newTrace(latency time.Duration, onIncoming func(tr *trace)) *trace {
	tr := &trace{n: New(Config{Seed: 5, LatencyMin: latency, LatencyMax: latency})}
	tr.a = tr.n.Add("a", "/ip4/10.1.0.1/tcp/1", func(x action.Action) {
		switch m := x.(type) {
		case action.Connected:
			tr.log = append(tr.log, "connected")
		case action.MessageReceived:
			tr.log = append(tr.log, fmt.Sprint("msg", binary.BigEndian.Uint32(m.Data)))
		case action.GossipReceived:
			tr.log = append(tr.log, "gossip")
			tr.a.Verdict(m.Msg, state.VerdictAccept)
		case action.Disconnected:
			tr.log = append(tr.log, "closed: "+m.Error)
		}
	})
	tr.b = tr.n.Add("b", "/ip4/10.2.0.1/tcp/1", func(x action.Action) {
		if _, ok := x.(action.IncomingConnection); ok && onIncoming != nil {
			onIncoming(tr)
		}
	})
	return tr
}

// send sends messages from..to-1 from b to a.
func (tr *trace) send(from, to uint32) {
	for i := from; i < to; i++ {
		tr.b.Send(tr.a.ID, 5, 5, binary.BigEndian.AppendUint32(nil, i))
	}
}

// What a listener sends at once, across a one-way cut, to a dialler whose
// side of the connection is not open yet (its Connected is a latency
// away, after the first retransmission) is held, not thrown away as if
// the dialler had closed.
func TestHeldMessagesWaitForTheDiallersConnected(t *testing.T) {
	tr := newTrace(300*time.Millisecond, func(tr *trace) { tr.send(0, 5) })
	tr.n.CutOneWay([]*Endpoint{tr.b})
	tr.a.Dial(tr.b.ID, []state.Addr{tr.b.Addr})
	tr.n.RunUntil(tr.n.Now() + int64(time.Second))
	tr.n.Heal()
	tr.n.RunUntil(tr.n.Now() + int64(time.Second))
	tr.send(5, 10)
	tr.n.RunUntil(tr.n.Now() + int64(30*time.Second))
	want := []string{"connected", "msg0", "msg1", "msg2", "msg3", "msg4", "msg5", "msg6", "msg7", "msg8", "msg9"}
	if !slices.Equal(tr.log, want) {
		t.Errorf("a heard %v, want %v", tr.log, want)
	}
}

// A broadcast copy does not overtake what a connection still holds after
// a cut heals: whatever of the broadcast reaches a comes after the held
// messages.
func TestBroadcastDoesNotOvertakeHeldMessages(t *testing.T) {
	tr := newTrace(20*time.Millisecond, nil)
	tr.a.Dial(tr.b.ID, []state.Addr{tr.b.Addr})
	tr.n.RunUntil(tr.n.Now() + int64(time.Second))
	tr.n.CutOneWay([]*Endpoint{tr.b})
	tr.send(0, 3)
	tr.n.RunUntil(tr.n.Now() + int64(250*time.Millisecond)) // the first retransmission failed
	tr.n.Heal()
	tr.b.Publish(1, []byte("x"))
	tr.n.RunUntil(tr.n.Now() + int64(30*time.Second))
	i := slices.Index(tr.log, "msg2")
	if i < 0 || !slices.Equal(tr.log[:i+1], []string{"connected", "msg0", "msg1", "msg2"}) {
		t.Errorf("a heard %v: the held messages, in order, should come right after connected", tr.log)
	}
}
