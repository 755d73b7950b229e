package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

func connect(s *state.State, a action.Connect, svc service.Service) {
	if p, ok := s.Peers[a.Peer]; ok && p.Status == state.StatusConnecting {
		svc.Dial(a.Peer, p.Dialled)
	}
}

// disconnect tells the peer why, if a connection is up and the peer did
// not leave first, then closes.
func disconnect(s *state.State, a action.Disconnect, svc service.Service) {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return
	}
	if p.Open && p.Reason != state.ReasonRemoteClosed {
		sendControl(svc, a.Peer, message.Disconnect{Reason: p.Reason})
	}
	svc.Close(a.Peer)
}
