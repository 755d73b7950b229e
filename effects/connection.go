package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

func connect(s *state.State, a action.Connect, out Out) {
	if p, ok := s.Peers[a.Peer]; ok && p.Status == state.StatusConnecting {
		out.Command(service.Dial{Peer: a.Peer, Addrs: p.Dialled})
	}
}

// disconnect tells the peer why, if a connection is up and the peer did
// not leave first, then closes.
func disconnect(s *state.State, a action.Disconnect, out Out) {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return
	}
	if p.Open && p.Reason != state.ReasonRemoteClosed {
		sendControl(out, a.Peer, message.Disconnect{Reason: p.Reason})
	}
	out.Command(service.Close{Peer: a.Peer})
}
