package simnet

import (
	"slices"
	"testing"
	"time"
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
