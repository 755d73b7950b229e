package node_test

import (
	"errors"
	"testing"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/state"
)

func fixed(ids ...state.PeerID) func() []state.PeerID {
	return func() []state.PeerID { return ids }
}

// TestPeerSelectorClasses: classes in order, the least-failed peer first,
// a class skipped past its tolerance, a success lowering a count, and all
// counts reset when every class is exhausted.
func TestPeerSelectorClasses(t *testing.T) {
	s := node.NewPeerSelector(
		node.PeerClass{Name: "outbound", Tolerance: 2, Peers: fixed("A", "B")},
		node.PeerClass{Name: "archival", Tolerance: 1, Peers: fixed("C")},
	)
	next := func(wantPeer state.PeerID, wantClass string) {
		t.Helper()
		p, c, err := s.Next()
		if err != nil || p != wantPeer || c != wantClass {
			t.Fatalf("Next() = %s %s %v; want %s %s", p, c, err, wantPeer, wantClass)
		}
	}
	next("A", "outbound")
	s.Failure("A")
	next("B", "outbound") // fewer failures
	s.Failure("B")
	next("A", "outbound") // tie: in class order
	s.Failure("A")        // A at 2: past tolerance
	next("B", "outbound")
	s.Success("B") // back to 0
	next("B", "outbound")
	s.Failure("B")
	s.Failure("B") // B past tolerance: the class is skipped
	next("C", "archival")
	s.Failure("C") // every class exhausted: reset
	next("A", "outbound")

	empty := node.NewPeerSelector(node.PeerClass{Name: "x", Tolerance: 3, Peers: fixed()})
	if _, _, err := empty.Next(); !errors.Is(err, node.ErrNoPeers) {
		t.Errorf("no peers: %v", err)
	}
}
