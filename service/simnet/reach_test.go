package simnet

import (
	"fmt"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// islands connects nodes endpoints in two groups, [0, half) and
// [half, nodes), each node dialling three others of its own group, and
// counts which nodes deliver each broadcast.
func islands(t *testing.T, nodes int) (*Network, []*Endpoint, map[uint64]map[int]bool) {
	n := New(Config{Seed: 11, LatencyMin: 5 * time.Millisecond, LatencyMax: 20 * time.Millisecond})
	got := map[uint64]map[int]bool{}
	var eps []*Endpoint
	for i := 0; i < nodes; i++ {
		i := i
		var ep *Endpoint
		ep = n.Add(state.PeerID(fmt.Sprintf("n%02d", i)), state.Addr(fmt.Sprintf("/ip4/10.%d.0.1/tcp/1", i)), func(a action.Action) {
			if gr, ok := a.(action.GossipReceived); ok {
				if got[gr.Msg] == nil {
					got[gr.Msg] = map[int]bool{}
				}
				got[gr.Msg][i] = true
				ep.Verdict(gr.Msg, state.VerdictAccept)
			}
		})
		eps = append(eps, ep)
	}
	half := nodes / 2
	for i := range eps {
		lo := 0
		if i >= half {
			lo = half
		}
		for k := 1; k <= 3; k++ {
			j := lo + (i-lo+k)%half
			eps[i].Dial(eps[j].ID, []state.Addr{eps[j].Addr})
		}
	}
	n.RunUntil(n.Now() + int64(2*time.Second))
	// A node joins a channel's broadcast network with its first message
	// on it; the heartbeats then graft its mesh.
	for i, ep := range eps {
		ep.Publish(1, []byte{byte(i)})
	}
	n.RunUntil(n.Now() + int64(3*time.Second))
	return n, eps, got
}

func reachOf(n *Network, from int, nodes int) []uint64 {
	r := make([]uint64, (nodes+63)/64)
	n.Reach(from, 1, r)
	return r
}

func has(b []uint64, i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

// Reach follows the publisher's peers and the meshes from them: it covers
// a node's own island and nothing else, it never marks a node that a
// broadcast could not reach, and every node it marks gets the broadcast
// on a network that loses nothing.
func TestReachFollowsThePublishersPeersAndTheMeshes(t *testing.T) {
	const nodes = 20
	n, eps, got := islands(t, nodes)
	for _, from := range []int{0, 7, 10, 19} {
		r := reachOf(n, from, nodes)
		for i := 0; i < nodes; i++ {
			if same := (i < nodes/2) == (from < nodes/2); has(r, i) != same {
				t.Errorf("from node %d: node %d reached %v, want %v (its island)", from, i, has(r, i), same)
			}
		}
	}

	// A bridge between the islands: published on one side of it, a
	// broadcast crosses by flood publishing and spreads through the
	// other island's mesh.
	eps[9].Dial(eps[10].ID, []state.Addr{eps[10].Addr})
	n.RunUntil(n.Now() + int64(3*time.Second))
	if hasPeer(eps[9].topic(1).mesh, eps[10]) || hasPeer(eps[10].topic(1).mesh, eps[9]) {
		t.Fatal("the bridge was grafted: its ends' meshes were meant to be full")
	}
	for _, from := range []int{9, 10} {
		r := reachOf(n, from, nodes)
		for i := 0; i < nodes; i++ {
			if !has(r, i) {
				t.Errorf("from node %d, over the bridge: node %d not reached", from, i)
			}
		}
	}
	// Published further in, a broadcast meets the bridge only as a
	// connection outside the mesh, which relays do not use.
	for _, from := range []int{0, 19} {
		r := reachOf(n, from, nodes)
		for i := 0; i < nodes; i++ {
			if same := (i < nodes/2) == (from < nodes/2); has(r, i) != same {
				t.Errorf("from node %d, with the bridge outside the meshes: node %d reached %v, want %v", from, i, has(r, i), same)
			}
		}
	}

	// What Reach marks, a broadcast reaches; a crashed node is neither
	// reached nor passed through.
	eps[3].Crash()
	for _, from := range []int{0, 9, 12} {
		r := reachOf(n, from, nodes)
		if has(r, 3) {
			t.Errorf("from node %d: the crashed node 3 reached", from)
		}
		eps[from].Publish(1, []byte{byte(from)})
		id := n.LastMsg()
		n.RunUntil(n.Now() + int64(2*time.Second))
		for i := 0; i < nodes; i++ {
			if i != from && has(r, i) && !got[id][i] {
				t.Errorf("from node %d: node %d was reached but did not get the broadcast", from, i)
			}
		}
	}
}

// Reach answers from its memo only while nothing it follows has changed:
// each change below alters the answer for a publisher whose earlier
// answers came from the memo, and a stale memo would repeat them.
func TestReachMemoFollowsChanges(t *testing.T) {
	const nodes = 20
	n, eps, _ := islands(t, nodes)
	n.VerifyReach(true)
	island := func(from int, want func(i int) bool, what string) {
		t.Helper()
		for k := 0; k < 3; k++ { // the second and third from the memo
			r := reachOf(n, from, nodes)
			for i := 0; i < nodes; i++ {
				if has(r, i) != want(i) {
					t.Fatalf("%s: from node %d: node %d reached %v, want %v", what, from, i, has(r, i), want(i))
				}
			}
		}
	}
	own := func(i int) bool { return i >= nodes/2 }
	all := func(int) bool { return true }
	island(19, own, "two islands")
	answered, _ := n.ReachChecks()
	if answered == 0 {
		t.Fatal("the memo did not answer")
	}

	// A bridge, then grafted into node 10's mesh: the mesh now leads from
	// the second island into the first.
	eps[9].Dial(eps[10].ID, []state.Addr{eps[10].Addr})
	n.RunUntil(n.Now() + int64(time.Second))
	island(19, own, "a bridge outside the meshes")
	eps[10].grafted(eps[9], 1)
	island(19, all, "the bridge in node 10's mesh")
	eps[10].pruned(eps[9], 1)
	island(19, own, "the bridge pruned")
	eps[10].topic(1).backoff = map[state.PeerID]int64{}
	eps[10].grafted(eps[9], 1)
	island(19, all, "the bridge grafted again")
	// Grafted both ways the two islands are one strongly connected mesh,
	// which the memo answers from; pruned on one side, they are not.
	eps[9].grafted(eps[10], 1)
	island(19, all, "the bridge grafted both ways")
	island(0, all, "the bridge grafted both ways")
	eps[10].pruned(eps[9], 1)
	island(19, own, "the bridge pruned on one side")
	eps[10].topic(1).backoff = map[state.PeerID]int64{}
	eps[10].grafted(eps[9], 1)
	island(19, all, "the bridge grafted both ways again")
	eps[10].leaveMeshes(eps[9])
	island(19, own, "node 9 gone from node 10's meshes")
	eps[10].grafted(eps[9], 1)
	island(19, all, "the bridge grafted both ways once more")

	// Node 3 frozen: no longer reached.
	eps[3].Silence()
	island(19, func(i int) bool { return i != 3 }, "node 3 frozen")
	// A partition around the second island, then healed.
	n.Partition(eps[nodes/2:])
	island(19, own, "partitioned")
	n.Heal()
	island(19, func(i int) bool { return i != 3 }, "healed")
	// A one-way cut: what the second island sends out is lost.
	n.CutOneWay(eps[nodes/2:])
	island(19, own, "the second island cut one way")
	n.Heal()
	island(19, func(i int) bool { return i != 3 }, "healed again")
	// The bridge closed.
	eps[9].unlink(eps[10])
	eps[10].unlink(eps[9])
	island(19, own, "the bridge closed")

	if a, bad := n.ReachChecks(); bad != 0 {
		t.Fatalf("%d of %d memo answers differed from a walk", bad, a)
	}
}
