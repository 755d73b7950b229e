package simnet

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// pair is two endpoints, a dialling b, with what b received over the
// connection: the numbers in the messages, in arrival order, and when.
type pair struct {
	n         *Network
	a, b      *Endpoint
	connected int64 // when a saw Connected (0: not yet)
	got       []uint32
	at        []int64
	gossip    int // broadcasts b received
	// closed are the errors of the Disconnected each side heard.
	closedA, closedB []string
}

func newPair(loss int) *pair {
	p := &pair{n: New(Config{Seed: 5, LatencyMin: 10 * time.Millisecond, LatencyMax: 50 * time.Millisecond, LossPPM: loss})}
	p.a = p.n.Add("a", "/ip4/10.1.0.1/tcp/1", func(a action.Action) {
		switch a := a.(type) {
		case action.Connected:
			p.connected = p.n.Now()
		case action.Disconnected:
			p.closedA = append(p.closedA, a.Error)
		}
	})
	p.b = p.n.Add("b", "/ip4/10.2.0.1/tcp/1", func(a action.Action) {
		switch m := a.(type) {
		case action.MessageReceived:
			p.got = append(p.got, binary.BigEndian.Uint32(m.Data))
			p.at = append(p.at, p.n.Now())
		case action.GossipReceived:
			p.gossip++
			p.b.Verdict(m.Msg, state.VerdictAccept)
		case action.Disconnected:
			p.closedB = append(p.closedB, m.Error)
		}
	})
	p.a.Dial(p.b.ID, []state.Addr{p.b.Addr})
	return p
}

// send sends messages from..to-1 from a to b, one every 10 ms.
func (p *pair) send(from, to uint32) {
	for i := from; i < to; i++ {
		p.a.Send(p.b.ID, 5, 5, binary.BigEndian.AppendUint32(nil, i))
		p.n.RunUntil(p.n.Now() + int64(10*time.Millisecond))
	}
}

// A connection is a stream: whatever the loss rate, what arrives is what
// was sent, in order, with nothing missing before the last message that
// arrived; losses make messages late, not absent.
func TestLossDelaysAConnectionsMessagesInOrder(t *testing.T) {
	p := newPair(250_000)
	p.n.RunUntil(p.n.Now() + int64(10*time.Second))
	if p.connected == 0 {
		t.Fatal("the dial did not connect at 25 % loss")
	}
	start := p.n.Now()
	p.send(0, 300)
	p.n.RunUntil(p.n.Now() + int64(time.Minute))
	for i, v := range p.got {
		if v != uint32(i) {
			t.Fatalf("message %d arrived as number %d: the stream has a hole or is out of order (%v…)", i, v, p.got[:i+1])
		}
	}
	if len(p.got) != 300 {
		// Seven losses in a row stall a connection; this seed has none.
		t.Fatalf("%d of 300 messages arrived", len(p.got))
	}
	// Some waited for a retransmission: later than any latency allows
	// after they were sent (every 10 ms from start).
	late := 0
	for i, at := range p.at {
		sent := start + int64(i)*int64(10*time.Millisecond)
		if at-sent >= int64(RetransmitTimeout) {
			late++
		}
	}
	if late == 0 {
		t.Error("no message was delayed by a retransmission at 25 % loss")
	}
}

// A message lost more than MaxRetransmits times stalls the connection in
// its direction for good: nothing sent after it arrives, even once the
// loss is over, broadcasts included; and its sender closes it.
func TestLossBeyondRetransmitsStallsTheConnection(t *testing.T) {
	p := newPair(0)
	p.n.RunUntil(p.n.Now() + int64(time.Second))
	if p.connected == 0 {
		t.Fatal("no connection without loss")
	}
	p.send(0, 10)
	p.a.Publish(1, []byte("before"))
	p.n.RunUntil(p.n.Now() + int64(time.Second))
	if p.gossip != 1 {
		t.Fatalf("b received %d broadcasts before the stall, want 1", p.gossip)
	}
	p.n.SetLoss(1_000_000)
	p.send(10, 20)
	p.n.SetLoss(0)
	p.send(20, 30)
	p.a.Publish(1, []byte("after"))
	p.n.RunUntil(p.n.Now() + int64(time.Minute))
	if len(p.got) != 10 || p.gossip != 1 {
		t.Fatalf("after a stall, %d messages arrived (want the 10 before it: %v) and %d broadcasts (want the 1 before it)", len(p.got), p.got, p.gossip)
	}
	p.gaveUp(t)
}

// A dial whose every attempt is lost never connects, and one that is
// lost a few times connects late, SYNRetransmitTimeout or more after it
// began.
func TestLossDelaysOrDefeatsADial(t *testing.T) {
	p := newPair(1_000_000)
	p.n.RunUntil(p.n.Now() + int64(5*time.Minute))
	if p.connected != 0 {
		t.Fatal("a dial connected at 100 % loss")
	}
	for seed := uint64(1); seed < 200; seed++ {
		p := newPair(500_000)
		p.n.rng = state.NewRNG(seed)
		start := p.n.Now()
		p.n.RunUntil(start + int64(5*time.Minute))
		if p.connected-start >= int64(SYNRetransmitTimeout) {
			return // found one that was resent, and it connected
		}
	}
	t.Error("no dial at 50 % loss connected after a retransmission")
}
