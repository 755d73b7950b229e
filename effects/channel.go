package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// deliver hands data-channel messages to the application; control messages
// stay inside the state machine.
func deliver(a action.MessageReceived, out Out) {
	if a.Channel != state.ChannelControl {
		out.Command(service.Deliver{Peer: a.Peer, Channel: a.Channel, Data: a.Data})
	}
}
