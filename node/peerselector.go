package node

import (
	"context"
	"errors"
	"sync"

	"github.com/p2pcore/p2pcore/state"
)

// A class-based peer selector for applications that fetch data from peers
// (Algorand's catchup): classes are tried in order, each with a failure
// tolerance; a peer is offered while its failures in its class are below
// the tolerance, the least-failed first; a success lowers its count; a
// class whose peers are all past the tolerance is skipped; when every
// class is exhausted, all counts reset and the round starts again.
//
// It is plain Go outside the state machine: which peer to fetch a block
// from is the application's choice, made on outcomes only it sees
// (a block that did not verify is a failure no network event reports),
// and it changes nothing the node does — the fetch itself goes through
// HTTPClient or Request, which are recorded. It holds no clock and no
// randomness, so the same outcomes give the same choices.

// ErrNoPeers: no class has any peer to offer.
var ErrNoPeers = errors.New("peer selector: no peers in any class")

// PeerClass is one class of the selector: its name, how many failures a
// peer may have in it before it is passed over, and where its peers come
// from (asked at every Next, so the class follows the node's peers).
type PeerClass struct {
	Name      string
	Tolerance int
	Peers     func() []state.PeerID
}

// PeerSelector chooses peers class by class. It is safe for concurrent
// use.
type PeerSelector struct {
	mu       sync.Mutex
	classes  []PeerClass
	failures []map[state.PeerID]int
	// from is the class each peer was last offered from, which its
	// outcome counts in.
	from map[state.PeerID]int
}

// NewPeerSelector returns a selector over classes, tried in order.
func NewPeerSelector(classes ...PeerClass) *PeerSelector {
	s := &PeerSelector{classes: classes, from: map[state.PeerID]int{}}
	for range classes {
		s.failures = append(s.failures, map[state.PeerID]int{})
	}
	return s
}

// Next offers a peer and the name of its class.
func (s *PeerSelector) Next() (state.PeerID, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for round := 0; round < 2; round++ {
		found := false
		for i, c := range s.classes {
			var best state.PeerID
			bestFails := -1
			for _, p := range c.Peers() {
				found = true
				f := s.failures[i][p]
				if f < c.Tolerance && (bestFails < 0 || f < bestFails) {
					best, bestFails = p, f
				}
			}
			if bestFails >= 0 {
				s.from[best] = i
				return best, c.Name, nil
			}
		}
		if !found {
			return "", "", ErrNoPeers
		}
		// Every class is exhausted: start again with clean counts.
		for i := range s.failures {
			clear(s.failures[i])
		}
	}
	return "", "", ErrNoPeers // classes whose tolerance is 0
}

// Failure counts a failed fetch from p in the class it was offered from.
func (s *PeerSelector) Failure(p state.PeerID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.from[p]; ok {
		s.failures[i][p]++
	}
}

// Success lowers p's failure count in the class it was offered from.
func (s *PeerSelector) Success(p state.PeerID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.from[p]; ok && s.failures[i][p] > 0 {
		s.failures[i][p]--
	}
}

// DefaultPeerClasses are Algorand's catchup classes over the node's
// ready peers: connected outbound (tolerance 3), relays (3), archival
// (10), connected inbound (3). Relays and archival peers are those whose
// address-book entry carries the capability (found through the DHT).
func (n *Node) DefaultPeerClasses() []PeerClass {
	ready := func(keep func(s *state.State, p *state.Peer) bool) func() []state.PeerID {
		return func() (out []state.PeerID) {
			n.State(context.Background(), func(s *state.State) {
				for _, id := range state.SortedKeys(s.Peers) {
					if p := s.Peers[id]; p.Status == state.StatusReady && keep(s, p) {
						out = append(out, id)
					}
				}
			})
			return out
		}
	}
	capable := func(c string) func(*state.State, *state.Peer) bool {
		return func(s *state.State, p *state.Peer) bool {
			e, ok := s.Discovery.Book[p.ID]
			return ok && e.HasCapability(c)
		}
	}
	return []PeerClass{
		{Name: "outbound", Tolerance: 3, Peers: ready(func(_ *state.State, p *state.Peer) bool { return p.Dir == state.Outbound })},
		{Name: "relay", Tolerance: 3, Peers: ready(capable(state.CapRelay))},
		{Name: "archival", Tolerance: 10, Peers: ready(capable(state.CapArchival))},
		{Name: "inbound", Tolerance: 3, Peers: ready(func(_ *state.State, p *state.Peer) bool { return p.Dir == state.Inbound })},
	}
}
