package effects

import (
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

func sendPing(s *state.State, id state.PeerID, out Out) {
	if p, ok := s.Peers[id]; ok && p.Ping.Outstanding {
		sendControl(out, id, message.PingRequest{Nonce: p.Ping.Nonce})
	}
}
