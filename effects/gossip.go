package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// answerGossip tells GossipSub what the reducer decided about a broadcast
// (state.GossipDecision): accepted broadcasts are also delivered, held
// ones go to the application's validator.
func answerGossip(s *state.State, a action.GossipReceived, out Out) {
	switch v := s.GossipDecision(a.Msg); v {
	case state.VerdictAccept:
		out.Deliver(service.Deliver{Peer: a.Peer, Channel: a.Channel, Data: a.Data, Size: a.Size, Sum: a.Sum})
		out.Command(service.Verdict{Msg: a.Msg, Verdict: v})
	case state.VerdictValidate:
		out.Command(service.Validate{Msg: a.Msg, Peer: a.Peer, Channel: a.Channel, Data: a.Data, Size: a.Size, Sum: a.Sum})
	default:
		out.Command(service.Verdict{Msg: a.Msg, Verdict: v})
	}
}

// answerValidated carries out the application's verdict.
func answerValidated(a action.GossipValidated, out Out) {
	if a.Verdict == state.VerdictAccept {
		out.Command(service.DeliverHeld{Msg: a.Msg})
	}
	out.Command(service.Verdict{Msg: a.Msg, Verdict: a.Verdict})
}
