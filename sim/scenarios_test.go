package sim_test

// Seeded protocol scenarios: bootstrapping from one bootnode, a node of
// another network, a silent peer, an inbound flood, and dialling oneself.
// Each run has a fixed seed and is deterministic, runs in virtual time, and
// asserts on the counters, the disconnect reasons and the ready sets of the
// nodes involved, at every step where it matters (the dispatcher of every
// node is wrapped, see watch). Most runs switch the broadcast workload off:
// these scenarios are about connections, and without it each runs in well
// under a second.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/service/simnet"
	"github.com/p2pcore/p2pcore/sim"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// quiet turns the broadcast workload off.
func quiet(c sim.Config) sim.Config {
	c.TxRate, c.BlockInterval = -1, -1
	return c
}

// newSim builds a simulation and, if the test fails, logs the report as it
// stands at the end of the test.
func newSim(t *testing.T, cfg sim.Config) *sim.Sim {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			s.Report().WriteText(&b)
			t.Logf("seed %d, report at %v:\n%s", cfg.Seed, now(s), b.String())
		}
	})
	return s
}

// watch makes every input of every node go through after, called once the
// input and everything it caused are applied: the scenarios check their
// properties at every step, not only at the end.
func watch(s *sim.Sim, after func(n *sim.Node, a action.Action)) {
	for _, n := range s.Nodes {
		n := n
		n.EP.SetDispatcher(func(a action.Action) {
			n.Store.Dispatch(a)
			after(n, a)
		})
	}
}

// now is the simulated time since the start.
func now(s *sim.Sim) time.Duration { return time.Duration(s.Net.Now() - sim.Epoch) }

// noViolations fails the test for every node whose state broke an
// invariant after some input (the sim's stores run State.Check after every
// input).
func noViolations(t *testing.T, s *sim.Sim) {
	t.Helper()
	for _, n := range s.Nodes {
		if v, first := n.Store.Violations(); v != 0 {
			t.Errorf("%s: %d invariant violations, first: %v", n.ID, v, first)
		}
	}
}

// checkOutbound asserts that node n has its outbound target of ready,
// automatic outbound peers, each a distinct node in a distinct address
// group, or else all the peers there are: no live node of its network is
// left that is not already its ready peer (in either direction) and whose
// group none of its outbound peers uses. It returns the number of ready
// outbound peers.
func checkOutbound(t *testing.T, s *sim.Sim, n *sim.Node) int {
	t.Helper()
	st := n.Store.State()
	var out []string
	groups := map[string]state.PeerID{}
	for _, id := range st.ReadyPeers() {
		p := st.Peers[id]
		if !p.Outbound() {
			continue
		}
		out = append(out, string(id))
		if id == n.ID {
			t.Errorf("%s: ready outbound peer is itself", n.ID)
		}
		if other, dup := groups[p.Group]; dup {
			t.Errorf("%s: outbound peers %s and %s share group %s", n.ID, other, id, p.Group)
		}
		groups[p.Group] = id
	}
	if len(out) >= st.Config.OutboundTarget {
		return len(out)
	}
	var left []state.PeerID
	for j, m := range s.Nodes {
		if j == n.Index || m.EP.Down() || m.EP.Silent() || m.Store.State().Config.Network != st.Config.Network {
			continue
		}
		if p, ok := st.Peers[m.ID]; ok && p.Status == state.StatusReady {
			continue
		}
		if _, used := groups[state.AddrGroup(m.Addr)]; !used {
			left = append(left, m.ID)
		}
	}
	if len(left) > 0 {
		t.Errorf("%s at %v: %d ready outbound peers %v of target %d, yet it could still dial %v",
			n.ID, now(s), len(out), out, st.Config.OutboundTarget, left)
	}
	return len(out)
}

func peerAddr(i int) state.PeerAddr {
	return state.PeerAddr{ID: sim.NodeID(i), Addrs: []state.Addr{sim.NodeAddr(i)}}
}

// TestFiftyNodesReachOutboundTargetFromOneBootnode: 50 nodes that know only
// node 0 all have their 8 ready outbound peers, in 8 distinct address
// groups, 60 simulated seconds later, and no state ever broke an invariant
// on the way.
func TestFiftyNodesReachOutboundTargetFromOneBootnode(t *testing.T) {
	const nodes = 50
	s := newSim(t, quiet(sim.Config{Nodes: nodes, Seed: 101, Duration: 60 * time.Second}))
	// Record when the last node first reached its target, for the log.
	reached := map[int]time.Duration{}
	watch(s, func(n *sim.Node, _ action.Action) {
		if _, ok := reached[n.Index]; ok {
			return
		}
		st := n.Store.State()
		if st.Counts().OutboundReady >= st.Config.OutboundTarget {
			reached[n.Index] = now(s)
		}
	})
	for _, n := range s.Nodes {
		if len(n.Store.State().Config.Bootnodes) != 1 {
			t.Fatalf("%s knows %d bootnodes, the scenario wants 1", n.ID, len(n.Store.State().Config.Bootnodes))
		}
	}
	s.RunFor(60 * time.Second)

	for _, n := range s.Nodes {
		// 50 nodes fill 25 address groups: everyone can have all 8.
		if got, want := checkOutbound(t, s, n), n.Store.State().Config.OutboundTarget; got != want {
			t.Errorf("%s: %d ready outbound peers, want %d", n.ID, got, want)
		}
	}
	noViolations(t, s)
	directionsAgree(t, s)
	r := s.Report()
	if r.AtTarget != nodes || r.Violations != 0 {
		t.Errorf("report: %d/%d nodes at target, %d violations", r.AtTarget, nodes, r.Violations)
	}
	var last time.Duration
	for _, d := range reached {
		last = max(last, d)
	}
	t.Logf("%d/%d nodes reached 8 outbound peers, the last at %v; %d actions", len(reached), nodes, last, r.Actions)
}

// TestSimultaneousOpensAgreeOnDirection: in a busy start, some pairs dial
// each other at once (with seed 1 and 64 nodes, several do). The side that
// yields becomes the listener, so both ends agree who dialled and peer
// exchange works for the pair.
func TestSimultaneousOpensAgreeOnDirection(t *testing.T) {
	s := newSim(t, quiet(sim.Config{Nodes: 64, Seed: 1, Duration: 3 * time.Minute}))
	// A peer we dialled (Dialled is set) that is now inbound: we yielded.
	yielded := map[[2]state.PeerID]bool{}
	watch(s, func(n *sim.Node, a action.Action) {
		if m, ok := a.(action.MessageReceived); ok && m.Channel == state.ChannelControl {
			if p := n.Store.State().Peers[m.Peer]; p != nil && p.Status == state.StatusReady && p.Dir == state.Inbound && len(p.Dialled) > 0 {
				yielded[[2]state.PeerID{n.ID, m.Peer}] = true
			}
		}
	})
	s.RunFor(3 * time.Minute)
	directionsAgree(t, s)
	noViolations(t, s)
	yields := len(yielded)
	if yields == 0 {
		t.Fatal("no node yielded in a simultaneous open: the scenario no longer tests it")
	}
	t.Logf("%d handshakes in which a dialling node yielded", yields)
}

// directionsAgree checks every ready pair sees one direction from both
// ends: what one counts as outbound the other counts as inbound, including
// after a simultaneous open, and every outbound peer answered our request
// for addresses.
func directionsAgree(t *testing.T, s *sim.Sim) {
	t.Helper()
	byID := map[state.PeerID]*sim.Node{}
	for _, n := range s.Nodes {
		byID[n.ID] = n
	}
	for _, n := range s.Nodes {
		st := n.Store.State()
		for _, id := range state.SortedKeys(st.Peers) {
			p, other := st.Peers[id], byID[id]
			if p.Status != state.StatusReady || other == nil {
				continue
			}
			q := other.Store.State().Peers[n.ID]
			if q == nil || q.Status != state.StatusReady {
				continue
			}
			if p.Dir == q.Dir {
				t.Errorf("%s and %s both count the other as %s", n.ID, id, p.Dir)
			}
			if p.Dir == state.Outbound && p.AddrAsked && !p.AddrReceived && st.Now-p.Since > int64(time.Second) {
				t.Errorf("%s asked %s for addresses and got no answer", n.ID, id)
			}
		}
	}
}

// TestWrongNetworkNodeIsRejectedByEveryone: one node runs another network.
// It knows every other node (they are all its bootnodes) and every other
// node knows it (it is everyone's second bootnode), so it meets everyone,
// as dialler and as listener. Every one of those handshakes ends with
// "wrong network", told to the other side, and the odd node is never ready
// with anyone. The rest of the network is unaffected.
func TestWrongNetworkNodeIsRejectedByEveryone(t *testing.T) {
	const nodes, odd = 20, 7 // node 0 is the bootnode; the odd one is not
	s := newSim(t, quiet(sim.Config{Nodes: nodes, Seed: 202, Duration: 60 * time.Second,
		Tweak: func(i int, c *state.Config) {
			if i == odd {
				c.Network = "othernet"
				c.Bootnodes = nil
				for j := 0; j < nodes; j++ {
					if j != odd {
						c.Bootnodes = append(c.Bootnodes, peerAddr(j))
					}
				}
				return
			}
			c.Bootnodes = append(c.Bootnodes, peerAddr(odd))
		}}))
	oddID := sim.NodeID(odd)
	var readyWithOdd []string
	met := map[int]bool{}    // other nodes whose connection to the odd node came up
	oddMet := map[int]bool{} // the same, as the odd node saw it
	watch(s, func(n *sim.Node, a action.Action) {
		st := n.Store.State()
		if n.Index == odd {
			for _, id := range state.SortedKeys(st.Peers) {
				p := st.Peers[id]
				if p.Status == state.StatusReady || p.Handshake.Done {
					readyWithOdd = append(readyWithOdd, fmt.Sprintf("%v: odd node ready with %s after %T", now(s), id, a))
				}
				var j int
				if _, err := fmt.Sscanf(string(id), "node-%d", &j); err == nil && p.Open {
					oddMet[j] = true
				}
			}
			return
		}
		if p, ok := st.Peers[oddID]; ok {
			if p.Status == state.StatusReady || p.Handshake.Done {
				readyWithOdd = append(readyWithOdd, fmt.Sprintf("%v: %s ready with the odd node after %T", now(s), n.ID, a))
			}
			met[n.Index] = met[n.Index] || p.Open
		}
	})
	s.RunFor(60 * time.Second)

	if len(readyWithOdd) > 0 {
		t.Errorf("the node of another network became ready %d times, first: %s", len(readyWithOdd), readyWithOdd[0])
	}
	oddSt := s.Nodes[odd].Store.State()
	if oddSt.Counters.Handshakes != 0 {
		t.Errorf("odd node completed %d handshakes", oddSt.Counters.Handshakes)
	}
	wrong := state.ReasonWrongNetwork
	// Every rejection is counted by the side that rejected and by the side
	// that was told.
	var refusedByOthers, refusalsHeardByOthers uint64
	for _, n := range s.Nodes {
		if n.Index == odd {
			continue
		}
		st := n.Store.State()
		ours, theirs := st.Counters.Disconnects[wrong], st.Counters.RemoteDisconnects[wrong]
		refusedByOthers += ours
		refusalsHeardByOthers += theirs
		if !met[n.Index] && !oddMet[n.Index] {
			t.Errorf("%s never had a connection to the odd node up; the scenario wants everyone to meet it", n.ID)
		}
		if ours+theirs == 0 {
			t.Errorf("%s met the odd node without %q either way: disconnects %v, remote %v",
				n.ID, wrong, st.Counters.Disconnects, st.Counters.RemoteDisconnects)
		}
		if p, ok := st.Peers[oddID]; ok && p.Status.Connected() {
			t.Errorf("%s still holds the odd node as %s at the end", n.ID, p.Status)
		}
		if st.Counters.Handshakes == 0 {
			t.Errorf("%s completed no handshake", n.ID)
		}
		checkOutbound(t, s, n)
	}
	if got := oddSt.Counters.RemoteDisconnects[wrong]; got != refusedByOthers {
		t.Errorf("odd node heard %q %d times; the others refused it %d times", wrong, got, refusedByOthers)
	}
	if got := oddSt.Counters.Disconnects[wrong]; got != refusalsHeardByOthers {
		t.Errorf("odd node refused %d Hellos with %q; the others heard %d", got, wrong, refusalsHeardByOthers)
	}
	// Both directions happened: the odd node refused Hellos of its
	// diallers, and the nodes it dialled refused its Hello.
	given, heard := oddSt.Counters.Disconnects[wrong], oddSt.Counters.RemoteDisconnects[wrong]
	if given == 0 || heard == 0 || given+heard < nodes-1 {
		t.Errorf("odd node: %d refusals given and %d heard, want both non-zero and at least %d in all",
			given, heard, nodes-1)
	}
	// Nothing else ended its connections: no timeout, no misbehaviour.
	for r, c := range oddSt.Counters.Disconnects {
		if r != wrong && r != state.ReasonRemoteClosed && r != state.ReasonDialTimeout && c > 0 {
			t.Errorf("odd node closed %d connections with %q", c, r)
		}
	}
	// (A dial that crosses the close of the previous connection can be
	// closed along with it, unexplained: "remote closed" is a race, not a
	// reason the peers gave.)
	for r, c := range oddSt.Counters.RemoteDisconnects {
		if r != wrong && r != state.ReasonRemoteClosed && c > 0 {
			t.Errorf("odd node was told %q %d times", r, c)
		}
	}
	noViolations(t, s)
	t.Logf("odd node met %d nodes (they saw %d); refused %d times, refused others %d times",
		len(oddMet), len(met), refusedByOthers, refusalsHeardByOthers)
}

// TestSilentPeerDroppedAfterPingTimeout: a node freezes with its
// connections open. Each of its peers drops it with "ping timeout" no
// later than ping interval + ping timeout (+ tick granularity) after it
// went quiet. Nobody else sees a ping timeout, no connection between live
// nodes is closed, no live node ends with fewer outbound peers than the
// silent one cost it (none at all in a network with addresses to spare,
// where every freed place must be refilled), and every broadcast after the
// freeze still reaches every live node.
//
// The run ends a few seconds after the last possible drop, before the
// dropped node's address becomes dialable again (BackoffBase later).
func TestSilentPeerDroppedAfterPingTimeout(t *testing.T) {
	for _, c := range []struct {
		nodes  int
		seed   uint64
		refill bool // every freed outbound place must be refilled
	}{
		{nodes: 30, seed: 303002, refill: true},
		{nodes: 12, seed: 303},
		// Regressions: a bootnode released ("bootstrap done") for the very
		// candidate a place freed by the silent peer needed (node-009 ended
		// one outbound peer short); a broadcast lost because its first copy
		// came from a peer still in its handshake and was refused.
		{nodes: 12, seed: 303010},
		{nodes: 30, seed: 303001, refill: true},
	} {
		t.Run(fmt.Sprintf("nodes=%d,seed=%d", c.nodes, c.seed), func(t *testing.T) {
			silentPeerScenario(t, c.nodes, c.seed, c.refill)
		})
	}
}

func silentPeerScenario(t *testing.T, nodes int, seed uint64, refill bool) {
	const (
		silent   = 5
		at       = 20 * time.Second
		interval = 10 * time.Second
		timeout  = 5 * time.Second
		tick     = time.Second
		deadline = at + interval + timeout + 2*tick
		duration = deadline + 3*tick
	)
	s := newSim(t, sim.Config{Nodes: nodes, Seed: seed, Duration: duration,
		TxRate: 20, BlockInterval: -1, WarmUp: at + time.Second,
		Tweak:  func(_ int, c *state.Config) { c.PingInterval, c.PingTimeout = interval, timeout },
		Faults: []sim.Fault{{At: at, Kind: sim.FaultSilence, Nodes: []int{silent}}}})
	silentID := sim.NodeID(silent)

	type drop struct {
		at             time.Duration
		reason, remote state.Reason
	}
	drops := map[[2]int]drop{}   // first close after the freeze, per (node, peer)
	readyAt := map[[2]int]bool{} // ready links just before the freeze
	watch(s, func(n *sim.Node, _ action.Action) {
		if n.Index == silent || now(s) < at {
			return
		}
		st := n.Store.State()
		for link := range readyAt {
			if link[0] != n.Index {
				continue
			}
			if _, seen := drops[link]; seen {
				continue
			}
			if p, ok := st.Peers[sim.NodeID(link[1])]; !ok || p.Status != state.StatusReady {
				d := drop{at: now(s), reason: state.ReasonNone}
				if ok {
					d.reason, d.remote = p.Reason, p.RemoteReason
				}
				drops[link] = d
			}
		}
	})

	s.RunFor(at - time.Millisecond)
	var peersOfSilent []int
	outBefore := map[int]int{}
	silentOut := map[int]bool{} // nodes that had the silent node as an outbound peer
	for _, n := range s.Nodes {
		if n.Index == silent {
			continue
		}
		st := n.Store.State()
		outBefore[n.Index] = st.Counts().OutboundReady
		if p, ok := st.Peers[silentID]; ok && p.Outbound() {
			silentOut[n.Index] = true
		}
		for _, id := range st.ReadyPeers() {
			var j int
			if _, err := fmt.Sscanf(string(id), "node-%d", &j); err != nil {
				t.Fatalf("%s: unexpected peer %s", n.ID, id)
			}
			readyAt[[2]int{n.Index, j}] = true
			if j == silent {
				peersOfSilent = append(peersOfSilent, n.Index)
			}
		}
	}
	if len(peersOfSilent) < 8 {
		t.Fatalf("before the freeze the silent node has %d ready peers %v; the scenario needs at least its 8 outbound",
			len(peersOfSilent), peersOfSilent)
	}
	s.RunFor(duration - now(s))

	wasPeer := map[int]bool{}
	for _, i := range peersOfSilent {
		wasPeer[i] = true
		d, ok := drops[[2]int{i, silent}]
		switch {
		case !ok:
			t.Errorf("%s never dropped the silent node", sim.NodeID(i))
		case d.reason != state.ReasonPingTimeout:
			t.Errorf("%s dropped the silent node at %v with %q, want %q", sim.NodeID(i), d.at, d.reason, state.ReasonPingTimeout)
		case d.at > deadline:
			t.Errorf("%s dropped the silent node only at %v; the freeze was at %v, ping interval %v, timeout %v",
				sim.NodeID(i), d.at, at, interval, timeout)
		}
	}
	kept, refilled := 0, 0
	for link := range readyAt {
		if link[1] == silent {
			continue
		}
		if d, lost := drops[link]; lost {
			t.Errorf("live link %s → %s closed at %v: reason %q, remote reason %q",
				sim.NodeID(link[0]), sim.NodeID(link[1]), d.at, d.reason, d.remote)
		} else {
			kept++
		}
	}
	for _, n := range s.Nodes {
		if n.Index == silent {
			continue
		}
		st := n.Store.State()
		pt := st.Counters.Disconnects[state.ReasonPingTimeout]
		switch {
		case wasPeer[n.Index] && pt != 1:
			t.Errorf("%s: %d ping timeouts, want exactly 1 (the silent node)", n.ID, pt)
		case !wasPeer[n.Index] && pt != 0:
			t.Errorf("%s: %d ping timeouts, but it was not a peer of the silent node", n.ID, pt)
		}
		if p, ok := st.Peers[silentID]; ok && p.Status.Connected() {
			t.Errorf("%s still holds the silent node as %s", n.ID, p.Status)
		}
		out := st.Counts().OutboundReady
		if silentOut[n.Index] {
			refilled += out - (outBefore[n.Index] - 1)
		}
		allowed := 0
		if silentOut[n.Index] && !refill {
			allowed = 1
		}
		if outBefore[n.Index]-out > allowed {
			t.Errorf("%s: %d ready outbound peers before the freeze, %d after (the silent one among them: %v; all must be refilled: %v)",
				n.ID, outBefore[n.Index], out, silentOut[n.Index], refill)
		}
	}

	noViolations(t, s)
	r := s.Report()
	if d := r.Delivery; d.Published == 0 || d.Delivered != d.Expected {
		t.Errorf("after the freeze %d broadcasts: %d of %d deliveries to live nodes", d.Published, d.Delivered, d.Expected)
	}
	var last time.Duration
	for _, i := range peersOfSilent {
		last = max(last, drops[[2]int{i, silent}].at)
	}
	t.Logf("%d peers of the silent node dropped it, the last at %v; %d live links kept; %d of %d outbound places refilled",
		len(peersOfSilent), last, kept, refilled, len(silentOut))
}

// TestInboundLimitRefusesExcessWithTooManyPeers: 200 nodes all dial node
// 0, their only bootnode, within one second. Node 0 accepts at most
// MaxInbound (64) of them at any moment, reaches that limit, and tells
// every other one "too many peers" before closing; each refused node hears
// it. MaxPendingInbound is raised to MaxInbound so that only the inbound
// limit decides.
func TestInboundLimitRefusesExcessWithTooManyPeers(t *testing.T) {
	const nodes, maxInbound = 201, 64
	s := newSim(t, quiet(sim.Config{Nodes: nodes, Seed: 404, Duration: 4 * time.Second,
		Tweak: func(i int, c *state.Config) {
			// A bootnode that refused us for capacity is retried after a
			// tenth of BackoffBase at the soonest: make that later than
			// the run, so every node dials node 0 once.
			c.BackoffBase = time.Minute
			if i == 0 {
				// Refusal proper: no address-only admissions past the
				// limit (AddrsWhenFull has its own scenario).
				c.MaxInbound, c.MaxPendingInbound, c.AddrsWhenFull = maxInbound, maxInbound, false
			}
		}}))
	boot := sim.NodeID(0)
	var maxReady, maxIn int
	var over []string
	gotIn := map[int]bool{}
	watch(s, func(n *sim.Node, a action.Action) {
		st := n.Store.State()
		if n.Index != 0 {
			if p, ok := st.Peers[boot]; ok && p.Status == state.StatusReady {
				gotIn[n.Index] = true
			}
			return
		}
		c := st.Counts()
		maxReady, maxIn = max(maxReady, c.InboundReady), max(maxIn, c.Inbound)
		if c.InboundReady > maxInbound && len(over) < 5 {
			over = append(over, fmt.Sprintf("%v: %d inbound ready after %T", now(s), c.InboundReady, a))
		}
	})
	s.RunFor(4 * time.Second)

	if len(over) > 0 {
		t.Errorf("node 0 exceeded MaxInbound %d: %v", maxInbound, over)
	}
	if maxReady != maxInbound || maxIn > maxInbound {
		t.Errorf("node 0 had at most %d inbound ready (%d with handshakes), want exactly %d",
			maxReady, maxIn, maxInbound)
	}
	st0 := s.Nodes[0].Store.State()
	refused := st0.Counters.Disconnects[state.ReasonTooManyPeers]
	// Every node dialled node 0 once (a refused dial waits longer than the
	// run): each one either got in or was refused.
	if want := uint64(nodes - 1 - len(gotIn)); refused != want {
		t.Errorf("node 0 refused %d connections with %q; %d of %d nodes never got in",
			refused, state.ReasonTooManyPeers, want, nodes-1)
	}
	if n := st0.Counters.Disconnects[state.ReasonTooManyPending]; n != 0 {
		t.Errorf("node 0 refused %d with %q; the scenario raised that limit out of the way", n, state.ReasonTooManyPending)
	}
	var told uint64
	var neither []state.PeerID
	for _, n := range s.Nodes[1:] {
		heard := n.Store.State().Counters.RemoteDisconnects[state.ReasonTooManyPeers]
		told += heard
		if heard == 0 && !gotIn[n.Index] {
			neither = append(neither, n.ID)
		}
		if heard != 0 && gotIn[n.Index] {
			t.Errorf("%s was both ready with node 0 and refused by it", n.ID)
		}
	}
	if told != refused {
		t.Errorf("node 0 refused %d with %q, the refused nodes heard it %d times", refused, state.ReasonTooManyPeers, told)
	}
	if len(neither) > 0 {
		t.Errorf("%d nodes neither got into node 0 nor were told why: %v", len(neither), neither)
	}
	// A place freed by a node that finished bootstrapping may go to a late
	// dialler, but not many: the limit must have refused most.
	if len(gotIn) < maxInbound || len(gotIn) > maxInbound+8 {
		t.Errorf("%d nodes were ever ready with node 0, want %d to %d", len(gotIn), maxInbound, maxInbound+8)
	}
	noViolations(t, s)
	t.Logf("node 0: %d accepted, %d refused with %q", len(gotIn), refused, state.ReasonTooManyPeers)
}

// TestSelfDialIsDetected: a node never connects to itself.
func TestSelfDialIsDetected(t *testing.T) {
	// Node 3's bootnode list names it by its own ID and, under another ID,
	// at its own address. Neither is ever dialled, dialling either by hand
	// is refused with ErrSelf, and the node still reaches its outbound
	// target (or all the peers there are).
	t.Run("own ID and address in bootnodes", func(t *testing.T) {
		const nodes, me = 10, 3
		alias := state.PeerID("alias-of-node-003")
		myAddr := sim.NodeAddr(me)
		s := newSim(t, quiet(sim.Config{Nodes: nodes, Seed: 505, Duration: 30 * time.Second,
			Tweak: func(i int, c *state.Config) {
				if i == me {
					c.Bootnodes = append(c.Bootnodes, peerAddr(me),
						state.PeerAddr{ID: alias, Addrs: []state.Addr{myAddr}})
				}
			}}))
		var selfPeers []string
		watch(s, func(n *sim.Node, a action.Action) {
			if n.Index != me {
				return
			}
			for id, p := range n.Store.State().Peers {
				if id == n.ID || id == alias || p.Addr == myAddr || slices.Contains(p.Dialled, myAddr) {
					selfPeers = append(selfPeers, fmt.Sprintf("%v: %s (%s) after %T", now(s), id, p.Status, a))
				}
			}
		})
		s.RunFor(10 * time.Second)
		st := s.Nodes[me].Store.State()
		if _, ok := st.Discovery.Book[sim.NodeID(me)]; ok {
			t.Error("the node's own ID is in its address book")
		}
		// Dial by hand: by own ID, by own ID at another address, by another
		// ID at our own address.
		for _, c := range []action.Connect{
			{Peer: sim.NodeID(me), Addrs: []state.Addr{myAddr}, Manual: true},
			{Peer: sim.NodeID(me), Addrs: []state.Addr{sim.NodeAddr(me + 1)}, Manual: true},
			{Peer: alias, Addrs: []state.Addr{myAddr}, Manual: true},
			{Peer: alias, Addrs: []state.Addr{myAddr}},
		} {
			if _, err := s.Nodes[me].Store.Dispatch(c); !errors.Is(err, reducer.ErrSelf) {
				t.Errorf("Connect %s at %v (manual %v): err %v, want %v", c.Peer, c.Addrs, c.Manual, err, reducer.ErrSelf)
			}
		}
		s.RunFor(20 * time.Second)

		if len(selfPeers) > 0 {
			t.Errorf("the node held itself as a peer %d times, first: %s", len(selfPeers), selfPeers[0])
		}
		for _, id := range st.ReadyPeers() {
			if id == sim.NodeID(me) || id == alias {
				t.Errorf("ready peer %s is the node itself", id)
			}
		}
		checkOutbound(t, s, s.Nodes[me])
		noViolations(t, s)
	})

	// A node is reachable at a second address under another peer ID (a
	// NAT hairpin, an unauthenticated alias): its dial to that address
	// comes back to itself from a peer named mirror, carrying its own
	// Hello nonce. Identities are authenticated, so a Hello with our nonce
	// from any ID but ours is a replay: the sender is scored and dropped,
	// and nothing else — the dialled peer, its address — is touched
	// (a peer replaying our nonce must not make us drop honest peers or
	// shun their addresses). The node never becomes ready with itself.
	t.Run("our own nonce from another peer ID", func(t *testing.T) {
		l := newLoopback(t, 606)
		l.run(60 * time.Second)

		st := l.store.State()
		if len(l.ready) > 0 {
			t.Errorf("the node became ready with itself: %v", l.ready)
		}
		if got := st.Counters.Disconnects[state.ReasonSelfConnection]; got != 0 {
			t.Errorf("%d disconnects with %q: a nonce alone decided", got, state.ReasonSelfConnection)
		}
		if st.Counters.Offences[state.OffenceViolation] == 0 || st.Counters.Disconnects[state.ReasonMisbehaviour] == 0 {
			t.Errorf("the replaying peer was not scored and dropped: offences %v, disconnects %v",
				st.Counters.Offences, st.Counters.Disconnects)
		}
		if _, ok := st.Discovery.Book[l.aliasID]; !ok {
			t.Errorf("the dialled peer %s was dropped from the address book", l.aliasID)
		}
		if st.Counters.Handshakes != 0 {
			t.Errorf("%d handshakes completed", st.Counters.Handshakes)
		}
		if v, first := l.store.Violations(); v != 0 {
			t.Errorf("%d invariant violations, first: %v", v, first)
		}
		if t.Failed() {
			t.Logf("log:\n%s", strings.Join(l.log, "\n"))
		}
	})
}

// loopback is one node on a simnet with a second endpoint, the alias,
// whose traffic is the node's own: what arrives at the alias from the node
// is handed back to the node as coming from a peer named mirror, and what
// the node sends to mirror leaves through the alias. The node's only
// bootnode is the alias.
type loopback struct {
	net             *simnet.Network
	main, aliasEP   *simnet.Endpoint
	store           *store.Store
	selfID, aliasID state.PeerID
	mirrorID        state.PeerID
	selfAddr        state.Addr
	aliasAddr       state.Addr
	dials           map[state.PeerID]int
	ready, log      []string
}

func newLoopback(t *testing.T, seed uint64) *loopback {
	l := &loopback{
		selfID: "node-a", aliasID: "node-x", mirrorID: "node-a-mirror",
		selfAddr: "/ip4/10.1.0.1/tcp/4001", aliasAddr: "/ip4/10.2.0.1/tcp/4001",
		dials: map[state.PeerID]int{},
	}
	l.net = simnet.New(simnet.Config{Seed: seed, Start: sim.Epoch,
		LatencyMin: 10 * time.Millisecond, LatencyMax: 50 * time.Millisecond})
	cfg := state.DefaultConfig("simnet")
	cfg.Bootnodes = []state.PeerAddr{{ID: l.aliasID, Addrs: []state.Addr{l.aliasAddr}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := state.New(cfg, state.Self{ID: l.selfID, ListenAddrs: []state.Addr{l.selfAddr}}, seed, sim.Epoch)
	l.main = l.net.Add(l.selfID, l.selfAddr, nil)
	l.aliasEP = l.net.Add(l.aliasID, l.aliasAddr, nil)
	l.store = store.New(st, l, l.net, store.Options{CheckInvariants: true})
	l.main.SetDispatcher(l.dispatch)
	l.aliasEP.SetDispatcher(func(a action.Action) { l.dispatch(l.fromAlias(a)) })
	return l
}

func (l *loopback) run(d time.Duration) {
	end := l.net.Now() + int64(d)
	var tick func()
	tick = func() {
		l.main.Input(action.Tick{})
		if l.net.Now()+int64(time.Second) <= end {
			l.net.After(time.Second, tick)
		}
	}
	l.net.After(0, tick)
	l.net.RunUntil(end)
}

func (l *loopback) dispatch(a action.Action) {
	if _, err := l.store.Dispatch(a); err == nil {
		if _, tick := a.(action.Tick); !tick {
			l.log = append(l.log, fmt.Sprintf("%v %T %+v", time.Duration(l.net.Now()-sim.Epoch), a, a))
		}
	}
	for _, id := range l.store.State().ReadyPeers() {
		l.ready = append(l.ready, fmt.Sprintf("%v: %s", time.Duration(l.net.Now()-sim.Epoch), id))
	}
}

// fromAlias renames the node itself, as seen from the alias, to mirror.
func (l *loopback) fromAlias(a action.Action) action.Action {
	rename := func(p state.PeerID) state.PeerID {
		if p == l.selfID {
			return l.mirrorID
		}
		return p
	}
	switch a := a.(type) {
	case action.IncomingConnection:
		a.Peer = rename(a.Peer)
		return a
	case action.MessageReceived:
		a.Peer = rename(a.Peer)
		return a
	case action.Disconnected:
		a.Peer = rename(a.Peer)
		return a
	case action.Connected:
		a.Peer = rename(a.Peer)
		return a
	case action.ConnectionFailed:
		a.Peer = rename(a.Peer)
		return a
	case action.Sent:
		a.Peer = rename(a.Peer)
		return a
	}
	return a
}

// route picks the endpoint and the peer name for a command about peer.
func (l *loopback) route(peer state.PeerID) (*simnet.Endpoint, state.PeerID) {
	if peer == l.mirrorID {
		return l.aliasEP, l.selfID
	}
	return l.main, peer
}

// The node's service.Service.

func (l *loopback) Dial(peer state.PeerID, addrs []state.Addr) {
	l.dials[peer]++
	ep, p := l.route(peer)
	ep.Dial(p, addrs)
}

func (l *loopback) Close(peer state.PeerID) {
	ep, p := l.route(peer)
	ep.Close(p)
}

func (l *loopback) Send(peer state.PeerID, ch, wire state.Channel, data []byte) {
	ep, p := l.route(peer)
	ep.Send(p, ch, wire, data)
}

func (l *loopback) Publish(ch state.Channel, data []byte) { l.main.Publish(ch, data) }

func (l *loopback) Deliver(peer state.PeerID, ch state.Channel, data []byte) {
	l.main.Deliver(peer, ch, data)
}

func (l *loopback) SavePeerStore(ps state.PeerStore) { l.main.SavePeerStore(ps) }

func (l *loopback) AcceptStream(state.PeerID, uint64) {}

func (l *loopback) ResetStream(state.PeerID, uint64) {}

func (l *loopback) Verdict(msg uint64, v state.Verdict) { l.main.Verdict(msg, v) }

func (l *loopback) Validate(c service.Validate) { l.main.Validate(c) }

func (l *loopback) DeliverHeld(msg uint64) { l.main.DeliverHeld(msg) }

func (l *loopback) Throttle(state.PeerID, bool) {}

func (l *loopback) Request(c service.Request)   { l.main.Request(c) }
func (l *loopback) Respond(c service.Respond)   { l.main.Respond(c) }
func (l *loopback) Serve(c service.Serve)       { l.main.Serve(c) }
func (l *loopback) Complete(c service.Complete) { l.main.Complete(c) }
