package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// deliver hands direct messages the reducer took (the sender was not
// throttled) to the application; control messages stay inside the state
// machine.
func deliver(s *state.State, a action.MessageReceived, out Out) {
	if p, ok := s.Peers[a.Peer]; ok && !p.Throttled && a.Channel != state.ChannelControl {
		out.Command(service.Deliver{Peer: a.Peer, Channel: a.Channel, Data: a.Data, Size: a.Size, Sum: a.Sum})
	}
}
