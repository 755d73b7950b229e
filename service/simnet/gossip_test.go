package simnet

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

func TestEventQueuePopsInTimeThenScheduleOrder(t *testing.T) {
	rng := state.NewRNG(3)
	var q eventQueue
	var want []farEvent
	for i := 0; i < 2000; i++ {
		e := farEvent{event: event{at: rng.Int63n(50)}, seq: uint64(i)}
		q.push(e)
		want = append(want, e)
	}
	slices.SortFunc(want, func(a, b farEvent) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return int(a.seq) - int(b.seq)
	})
	for i, w := range want {
		if got := q.pop(); got.at != w.at || got.seq != w.seq {
			t.Fatalf("pop %d: got (%d, %d), want (%d, %d)", i, got.at, got.seq, w.at, w.seq)
		}
	}
}

func TestSeenCacheForgetsByAge(t *testing.T) {
	n := New(Config{Seed: 1})
	ep := n.Add("a", "/ip4/10.0.0.1/tcp/1", nil)
	ttl := int64(time.Minute)
	var msgs []*gossipMsg
	for id := uint64(1); id <= 200; id++ {
		n.now = int64(id) * int64(time.Second)
		m := &gossipMsg{author: "b"}
		n.publish(m)
		msgs = append(msgs, m)
		if !ep.markSeen(m) {
			t.Fatalf("%d: new ID reported seen", id)
		}
		if ep.markSeen(m) {
			t.Fatalf("%d: seen ID reported new", id)
		}
	}
	ep.forgetSeen(n.now, ttl)
	for id := uint64(1); id <= 200; id++ {
		if want := int64(id)*int64(time.Second)+ttl > n.now; ep.Seen(id) != want {
			t.Errorf("ID %d seen at %ds: Seen=%v at %ds, want %v", id, id, ep.Seen(id), n.now/int64(time.Second), want)
		}
	}
	if ep.g.seenBase == 0 || ep.g.seenBase > 141 {
		t.Errorf("cache base %d: want its words below the oldest ID left (141) dropped", ep.g.seenBase)
	}
	if ep.markSeen(msgs[2]) {
		t.Error("an ID older than the cache's window was taken as new")
	}
}

// gossipNet connects nodes endpoints, each dialling degree random others,
// and accepts every broadcast, counting deliveries per message.
type gossipNet struct {
	n     *Network
	eps   []*Endpoint
	got   map[uint64]int
	dupes int
}

func newGossipNet(t *testing.T, cfg Config, nodes, degree int) *gossipNet {
	g := &gossipNet{n: New(cfg), got: map[uint64]int{}}
	for i := 0; i < nodes; i++ {
		id := state.PeerID(fmt.Sprintf("n%03d", i))
		var ep *Endpoint
		ep = g.n.Add(id, state.Addr(fmt.Sprintf("/ip4/10.%d.0.1/tcp/1", i)), func(a action.Action) {
			if gr, ok := a.(action.GossipReceived); ok {
				g.got[gr.Msg]++
				ep.Verdict(gr.Msg, state.VerdictAccept)
			}
		})
		g.eps = append(g.eps, ep)
	}
	rng := state.NewRNG(9)
	for i, ep := range g.eps {
		for k := 0; k < degree; k++ {
			j := rng.Intn(nodes)
			if j != i {
				ep.Dial(g.eps[j].ID, []state.Addr{g.eps[j].Addr})
			}
		}
	}
	g.n.RunUntil(g.n.Now() + int64(2*time.Second))
	return g
}

// publish sends count broadcasts on channel 1 from rotating nodes, one
// every 100 ms, and lets them settle.
func (g *gossipNet) publish(count int) []uint64 {
	var ids []uint64
	for i := 0; i < count; i++ {
		g.eps[i%len(g.eps)].Publish(1, []byte{byte(i)})
		ids = append(ids, g.n.LastMsg())
		g.n.RunUntil(g.n.Now() + int64(100*time.Millisecond))
	}
	g.n.RunUntil(g.n.Now() + int64(10*time.Second))
	return ids
}

func TestMeshKeepsItsDegreeAndReachesEveryNode(t *testing.T) {
	g := newGossipNet(t, Config{Seed: 5, LatencyMin: 5 * time.Millisecond, LatencyMax: 20 * time.Millisecond}, 60, 8)
	ids := g.publish(100)
	for _, id := range ids {
		if g.got[id] != len(g.eps)-1 {
			t.Errorf("message %d reached %d of %d other nodes", id, g.got[id], len(g.eps)-1)
		}
	}
	cfg := g.n.gossip
	for _, ep := range g.eps {
		m := len(ep.topic(1).mesh)
		if m > cfg.Dhi || m < min(cfg.Dlo, len(ep.peers)) {
			t.Errorf("%s: mesh of %d with %d peers, want %d to %d", ep.ID, m, len(ep.peers), cfg.Dlo, cfg.Dhi)
		}
		for _, p := range ep.topic(1).mesh {
			if ep.links[p.ep.ID] == nil {
				t.Errorf("%s: mesh peer %s is not connected", ep.ID, p.ep.ID)
			}
			if p.l != ep.linkTo[p.ep] {
				t.Errorf("%s: mesh peer %s holds a link other than its current one", ep.ID, p.ep.ID)
			}
		}
	}
	checkEntries(t, g.n)
	mesh := g.n.Gossip().Amplification()
	flood := newGossipNet(t, Config{Seed: 5, LatencyMin: 5 * time.Millisecond, LatencyMax: 20 * time.Millisecond,
		Gossip: GossipConfig{Flood: true}}, 60, 8)
	flood.publish(100)
	if f := flood.n.Gossip().Amplification(); mesh <= 1 || mesh >= f {
		t.Errorf("amplification %.2f with the mesh, %.2f flooding: want the mesh between 1 and flooding", mesh, f)
	}
	t.Logf("amplification: mesh %.2f, flooding %.2f", mesh, flood.n.Gossip().Amplification())
}

// What the mesh loses is fetched through IHAVE/IWANT.
func TestLazyGossipRecoversLostCopies(t *testing.T) {
	g := newGossipNet(t, Config{Seed: 6, LatencyMin: 5 * time.Millisecond, LatencyMax: 20 * time.Millisecond}, 40, 8)
	g.n.SetLoss(100_000) // 10 %
	ids := g.publish(100)
	var missing int
	for _, id := range ids {
		missing += len(g.eps) - 1 - g.got[id]
	}
	st := g.n.Gossip()
	if st.Fetched == 0 || st.IWant == 0 {
		t.Errorf("no message was fetched by IWANT (%+v)", st)
	}
	if total := 100 * (len(g.eps) - 1); missing*1000 > total {
		t.Errorf("%d of %d deliveries missing at 10%% loss; IHAVE/IWANT should recover all but a few", missing, total)
	}
	t.Logf("at 10%% loss: %d deliveries missing, %+v", missing, st)
}

// The calendar pops in exactly the heap's order, whatever mix of near,
// same-instant and far events is scheduled while it runs.
func TestCalendarMatchesHeap(t *testing.T) {
	rng := state.NewRNG(11)
	var cal calendar
	var ref eventQueue
	now, seq := int64(1767225600)*int64(time.Second), uint64(0)
	var ties []int64
	// Each event carries its number in a message for the test to tell
	// them apart: the calendar's events do not hold it.
	push := func(at int64) {
		seq++
		e := event{at: at, copy: copyOf{m: &gossipMsg{id: seq}}}
		cal.push(e, seq)
		ref.push(farEvent{event: e, seq: seq})
	}
	for i := 0; i < 200; i++ {
		push(now + rng.Int63n(int64(10*time.Second)))
	}
	for popped := 0; ref.Len() > 0; popped++ {
		if cal.Len() != ref.Len() {
			t.Fatalf("after %d pops: %d pending, the heap has %d", popped, cal.Len(), ref.Len())
		}
		want, got := ref.pop(), cal.pop()
		if got.at != want.at || got.copy.m.id != want.seq {
			t.Fatalf("pop %d: got (%d, %d), want (%d, %d)", popped, got.at, got.copy.m.id, want.at, want.seq)
		}
		now = got.at
		if popped%3 == 0 {
			// Peeking may move the calendar past the clock (RunUntil
			// peeks at what is due next); what is then scheduled at the
			// clock must still come first.
			cal.peek()
		}
		if popped < 20000 {
			switch rng.Intn(5) {
			case 0:
				push(now) // same instant
			case 1:
				push(now + rng.Int63n(int64(50*time.Millisecond)))
				push(now + rng.Int63n(int64(50*time.Millisecond)))
			case 2:
				push(now + rng.Int63n(int64(time.Minute))) // beyond the ring
			case 3:
				push(now + rng.Int63n(int64(2*time.Millisecond)))
			case 4:
				// The same instant from beyond the ring and, later, from
				// within it: ties between a heap event and ring events.
				at := now + int64(1500*time.Millisecond)
				push(at)
				ties = append(ties, at)
			}
			if len(ties) > 0 && ties[0]-now < int64(900*time.Millisecond) {
				push(ties[0])
				ties = ties[1:]
			}
		}
	}
	if cal.Len() != 0 || cal.peek() != nil {
		t.Errorf("calendar still holds %d events", cal.Len())
	}
}

// checkSeenMirror checks that each broadcast's bits of the seen-caches
// (gossipMsg.seenBy) are those of the nodes whose seenQ holds it, and that
// a broadcast no longer kept is in no node's cache.
func checkSeenMirror(t *testing.T, n *Network) {
	t.Helper()
	inQ := make([]map[uint64]bool, len(n.nodes))
	for i, ep := range n.nodes {
		inQ[i] = map[uint64]bool{}
		for _, q := range ep.g.seenQ {
			if inQ[i][q.id] {
				t.Fatalf("node %d: message %d twice in its seen-cache", i, q.id)
			}
			inQ[i][q.id] = true
		}
	}
	for id := uint64(1); id <= n.msgSeq; id++ {
		m := n.kept(id)
		count := 0
		for i := range n.nodes {
			has := inQ[i][id]
			if has {
				count++
			}
			if m == nil {
				if has {
					t.Fatalf("message %d is not kept but node %d has seen it", id, i)
				}
				continue
			}
			if m.seenAt(int32(i)) != has {
				t.Fatalf("message %d: node %d's bit %v, in its seen-cache %v", id, i, m.seenAt(int32(i)), has)
			}
		}
		if m != nil && m.seen != count {
			t.Fatalf("message %d: %d bits set, %d nodes have seen it", id, m.seen, count)
		}
	}
}

// checkEntries checks that the entries of every peer list and mesh say
// what the links say.
func checkEntries(t *testing.T, n *Network) {
	t.Helper()
	for _, ep := range n.nodes {
		for ch, tp := range ep.g.topics {
			if want := tp != nil && len(tp.mesh) > 0; ep.Meshed(state.Channel(ch)) != want {
				t.Fatalf("%s: Meshed(%d) = %v with a mesh of %d", ep.ID, ch, !want, len(tp.mesh))
			}
		}
		ep.eachEntry(func(e *peerLink) {
			l := ep.linkTo[e.ep]
			switch {
			case e.l != l:
				t.Fatalf("%s: entry for %s holds a link other than its current one", ep.ID, e.ep.ID)
			case int(e.side) != l.side(ep) || e.node != e.ep.idx:
				t.Fatalf("%s: entry for %s: side %d, node %d; want %d, %d", ep.ID, e.ep.ID, e.side, e.node, l.side(ep), e.ep.idx)
			case e.up != l.alive[e.side]:
				t.Fatalf("%s: entry for %s: up %v, link alive %v", ep.ID, e.ep.ID, e.up, l.alive[e.side])
			}
		})
	}
}

// The messages' bits follow the seen-caches as nodes see, forget (a short
// SeenTTL), crash, freeze and restart.
func TestSeenBitsFollowTheCaches(t *testing.T) {
	g := newGossipNet(t, Config{Seed: 8, LatencyMin: 5 * time.Millisecond, LatencyMax: 20 * time.Millisecond,
		Gossip: GossipConfig{SeenTTL: 3 * time.Second}}, 30, 6)
	g.n.SetLoss(50_000)
	for round := 0; round < 8; round++ {
		for i := 0; i < 20; i++ {
			g.eps[(i*7+round)%len(g.eps)].Publish(1, []byte{byte(i)})
			g.n.RunUntil(g.n.Now() + int64(40*time.Millisecond))
			if i%5 == 0 {
				checkSeenMirror(t, g.n)
				checkEntries(t, g.n)
			}
		}
		switch round % 4 {
		case 0:
			g.eps[round].Crash()
		case 1:
			g.eps[round-1].Restart()
			g.eps[round].Silence()
		case 2:
			g.eps[round-1].Restart()
		}
		g.n.RunUntil(g.n.Now() + int64(2*time.Second))
		checkSeenMirror(t, g.n)
		checkEntries(t, g.n)
	}
	g.n.RunUntil(g.n.Now() + int64(10*time.Second))
	checkSeenMirror(t, g.n)
	if len(g.n.seenMsgs) == int(g.n.msgSeq) {
		t.Errorf("all %d messages still kept after every cache forgot the first ones", len(g.n.seenMsgs))
	}
}

// The peer lists' and meshes' entries follow their links through
// connections dialled, closed and dialled again before the other side
// learnt of the close, and through crashes and restarts.
func TestEntriesFollowTheLinks(t *testing.T) {
	g := newGossipNet(t, Config{Seed: 4, LatencyMin: 2 * time.Millisecond, LatencyMax: 30 * time.Millisecond}, 20, 4)
	rng := state.NewRNG(21)
	for step := 0; step < 3000; step++ {
		a, b := g.eps[rng.Intn(len(g.eps))], g.eps[rng.Intn(len(g.eps))]
		switch rng.Intn(10) {
		case 0, 1, 2:
			if a != b {
				a.Dial(b.ID, []state.Addr{b.Addr})
			}
		case 3, 4:
			a.Close(b.ID)
		case 5:
			if !a.Down() {
				a.Crash()
			} else {
				a.Restart()
			}
		case 6:
			a.Publish(1, []byte{byte(step)})
		case 7:
			// Closed and dialled again at once: the new connection may
			// reach b before the close does.
			if a != b {
				a.Close(b.ID)
				a.Dial(b.ID, []state.Addr{b.Addr})
			}
		}
		g.n.RunUntil(g.n.Now() + rng.Int63n(int64(5*time.Millisecond)))
		checkEntries(t, g.n)
		if step%100 == 0 {
			checkSeenMirror(t, g.n)
		}
	}
}
