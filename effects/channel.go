package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// deliver hands direct messages the reducer took to the application:
// all of them on a backpressured channel, and otherwise those whose sender
// it did not throttle (it refuses the rest). Control messages stay inside
// the state machine.
func deliver(s *state.State, a action.MessageReceived, out Out) {
	p, ok := s.Peers[a.Peer]
	if ok && a.Channel != state.ChannelControl && (!p.Throttled || s.Config.Backpressured(a.Channel)) {
		out.Deliver(service.Deliver{Peer: a.Peer, Channel: a.Channel, Data: a.Data, Size: a.Size, Sum: a.Sum})
	}
}

// sendDirect writes an application message to a peer, numbering the
// channel as the peer does (the reducer sends only on shared channels).
func sendDirect(s *state.State, a action.SendMessage, out Out) {
	var wire state.Channel
	if p, ok := s.Peers[a.Peer]; ok && int(a.Channel) < len(p.Remote) {
		wire = p.Remote[a.Channel]
	}
	out.Command(service.Send{Peer: a.Peer, Channel: a.Channel, Wire: wire, Data: a.Data, Size: a.Size, Sum: a.Sum})
}
