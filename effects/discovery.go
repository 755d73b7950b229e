package effects

import (
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// askForAddrs sends the one AddrListRequest a new outbound peer gets.
func askForAddrs(s *state.State, id state.PeerID, out Out) {
	if p, ok := s.Peers[id]; ok && p.AddrAsked && !p.AddrReceived {
		sendControl(out, id, message.AddrListRequest{})
	}
}
