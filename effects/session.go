package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// session carries out the effect of a session action; it reports false
// for any other action.
func session(s *state.State, a action.Action, out Out) bool {
	switch a := a.(type) {
	case action.SessionStart:
		n := &s.Sessions.Networks[a.Network]
		out.Command(service.OpenSession{ID: a.ID, Peer: a.Peer, Network: n.Name, Stream: a.Stream, Timeout: a.Timeout,
			BufferMessages: n.BufferMessages, BufferBytes: n.BufferBytes, MaxMessage: n.MaxMessage})
	case action.SessionSend:
		out.Command(service.SessionWrite{ID: a.ID, Data: a.Data, Size: a.Size, Sum: a.Sum})
	case action.SessionClose:
		out.Command(service.SessionWrite{ID: a.ID, Close: true})
	case action.SessionReceived:
		// Unless the reducer stops the session for it.
		if r, ok := s.Sessions.Running[a.ID]; ok && !r.Stopped && !r.Stopping {
			out.Command(service.SessionDeliver{ID: a.ID, Data: a.Data, Size: a.Size, Sum: a.Sum})
		}
	case action.SessionPeerClosed:
		out.Command(service.SessionDeliver{ID: a.ID, EOF: true})
	case action.SessionStop:
		out.Command(service.EndSession{ID: a.ID, Outcome: a.Outcome})
	case action.SessionDone:
		out.Command(service.EndSession{ID: a.ID})
	case action.SessionRefused:
		out.Command(service.EndSession{Peer: a.Peer, Stream: a.Stream, Outcome: a.Outcome})
	default:
		return false
	}
	return true
}
