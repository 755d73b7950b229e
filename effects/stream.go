package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// answerStream tells the service what the reducer decided about a stream a
// peer opened: read it, or reset it.
func answerStream(s *state.State, a action.StreamOpened, out Out) {
	if p, ok := s.Peers[a.Peer]; ok && p.HasStream(a.Stream) {
		out.Command(service.AcceptStream{Peer: a.Peer, Stream: a.Stream})
		return
	}
	out.Command(service.ResetStream{Peer: a.Peer, Stream: a.Stream})
}
