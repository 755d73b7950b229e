package reducer

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// PeerLocal reports whether the reducer of a changes no peer entry but the
// one it returns (and sections that are not per peer: channels, gossip,
// the address book, counters, the RNG); "" means no peer entry at all.
// Those are the actions a large simulation has millions of — a broadcast
// arriving, a send completing, a ping, an address list — and after an
// input whose every action (itself and all it caused) is local to one
// peer the store checks State.CheckPeer for that peer instead of walking
// every peer (store.Options.CheckPeers, Locality). A test in package store
// holds such inputs to changing no other peer and the two checks to
// agreeing; a reducer that starts touching other peers must leave this
// list.
func PeerLocal(a action.Action) (state.PeerID, bool) {
	switch a := a.(type) {
	case action.GossipReceived:
		return a.Peer, true
	case action.GossipOffered:
		return a.Peer, true
	case action.Sent:
		return a.Peer, true
	case action.Published, action.BroadcastMessage:
		return "", true
	case action.MessageReceived:
		return a.Peer, true
	case action.PingRequestReceived:
		return a.Peer, true
	case action.PingResponseReceived:
		return a.Peer, true
	case action.AddrListRequestReceived:
		return a.Peer, true
	case action.AddrListResponseReceived:
		return a.Peer, true
	case action.AddrAnnounceReceived:
		return a.Peer, true
	case action.AddrListAsk:
		return a.Peer, true
	case action.AddrListSend, action.AddrAnnounceSend:
		return "", true // sent by the effect: no state at all
	}
	return "", false
}

// Locality follows one input and everything it caused: whether all of it
// was local to one peer (PeerLocal), and which.
type Locality struct {
	peer  state.PeerID
	mixed bool
}

// Add takes one more action of the input's.
func (l *Locality) Add(a action.Action) {
	p, ok := PeerLocal(a)
	switch {
	case !ok:
		l.mixed = true
	case p == "":
	case l.peer == "":
		l.peer = p
	case l.peer != p:
		l.mixed = true
	}
}

// Peer returns the one peer the input's actions touched ("" for none) and
// whether they touched no other.
func (l *Locality) Peer() (state.PeerID, bool) { return l.peer, !l.mixed }
