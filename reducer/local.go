package reducer

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// PeerLocal reports whether the reducer of input a, when it queues no
// derived action, changes no peer entry but the one it returns (and
// sections that are not per peer: channels, gossip, counters). Those are
// the inputs a large simulation has millions of — a broadcast arriving,
// a send completing — and after them the store checks State.CheckPeer
// for that peer instead of walking every peer (store.Options.CheckPeers).
// A test in package store holds the two checks to agreeing; a reducer
// that starts touching other peers must leave this list.
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
		// On the control channel a message leads to derived actions, and
		// the store then checks all peers anyway.
		return a.Peer, true
	}
	return "", false
}
