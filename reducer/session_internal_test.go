package reducer

import (
	"math"
	"testing"

	"github.com/p2pcore/p2pcore/state"
)

// sessionState is a state with ready peers and their session records.
func sessionState(failures map[state.PeerID]int) *state.State {
	s := state.New(state.DefaultConfig("testnet"), state.Self{ID: "self"}, 7, 0)
	s.Now = 1 // after the failures (LastFailure 0)
	for _, id := range state.SortedKeys(failures) {
		s.Peers[id] = &state.Peer{ID: id, Status: state.StatusReady}
		s.Sessions.Peers[id] = &state.SessionPeer{Failures: failures[id]}
	}
	return s
}

// TestSessionClasses: p0 holds the peers with a session on another
// network and at most one failure; the rest are grouped by failures,
// fewest first; a peer with a session of ours on the network itself is
// no candidate.
func TestSessionClasses(t *testing.T) {
	s := sessionState(map[state.PeerID]int{"a": 0, "b": 1, "c": 2, "d": 0, "e": 2, "f": 5, "g": 0})
	busy := map[state.PeerID]uint64{"a": 1 << 1, "b": 1 << 2, "c": 1 << 1, "g": 1 << 0}
	outbound := map[state.PeerID]uint64{"g": 1 << 0}
	got := sessionClasses(s, 0, sessionCandidates(s, 0, outbound), busy)
	want := [][]state.PeerID{{"a", "b"}, {"d"}, {"c", "e"}, {"f"}}
	if len(got) != len(want) {
		t.Fatalf("classes %v, want %v", got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("classes %v, want %v", got, want)
		}
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("classes %v, want %v", got, want)
			}
		}
	}
}

// TestGeometricDraw: the class is drawn geometrically with p = 0.95 (the
// last class takes what is left), the peer uniformly within it.
func TestGeometricDraw(t *testing.T) {
	s := sessionState(map[state.PeerID]int{"a": 0, "b": 0, "c": 1, "d": 2})
	const n = 200000
	counts := map[state.PeerID]int{}
	for range n {
		p, ok := choosePeer(s, 0, map[state.PeerID]uint64{}, map[state.PeerID]uint64{})
		if !ok {
			t.Fatal("no peer chosen")
		}
		counts[p]++
	}
	// Classes {a, b}, {c}, {d}: 0.95, 0.05 × 0.95, 0.05².
	want := map[state.PeerID]float64{"a": 0.475, "b": 0.475, "c": 0.0475, "d": 0.0025}
	for id, p := range want {
		got := float64(counts[id]) / n
		if sd := math.Sqrt(p * (1 - p) / n); math.Abs(got-p) > 5*sd {
			t.Errorf("peer %s chosen %.4f of the time, want %.4f", id, got, p)
		}
	}
}

// TestSessionTimeoutDraw: timeouts are drawn within ±10 %.
func TestSessionTimeoutDraw(t *testing.T) {
	s := sessionState(nil)
	const mean = 240_000_000_000
	lo, hi := int64(mean), int64(0)
	for range 10000 {
		d := int64(drawTimeout(s, mean))
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < mean*9/10 || hi > mean*11/10 || lo > mean*91/100 || hi < mean*109/100 {
		t.Fatalf("timeouts drawn in [%d, %d], want about [%d, %d]", lo, hi, mean*9/10, mean*11/10)
	}
}
