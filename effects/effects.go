// Package effects maps actions onto service commands.
//
// An effect runs after its action's reducer, reads the state the reducer
// left, and says what the world should do — dial, send, publish, close,
// deliver, save — as service.Command values handed to Out. Effects never
// change the state, never call the service and never use a value from it;
// they may queue derived actions. The store records the commands and a
// thin shell carries them out, so a replay recomputes exactly what the
// node asked for and checks it against the log.
package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Out receives the commands effects produce, in order.
type Out interface {
	Command(c service.Command)
	// Deliver is Command for a deliver command, which it takes by
	// value: the store keeps it in memory of its own (see
	// service.Deliver), so that the message every peer sends does not
	// cost an allocation to hand over.
	Deliver(d service.Deliver)
}

// Run carries out the effect of an action that has just been reduced.
func Run(s *state.State, m action.Meta, a action.Action, out Out, q action.Queue) {
	switch a := a.(type) {
	case action.Connect:
		connect(s, a, out)
	case action.Connected:
		sendHelloIfDialler(s, a.Peer, out)
	case action.IncomingConnection:
		sendHelloIfDialler(s, a.Peer, out)
	case action.Disconnect:
		disconnect(s, a, out)
	case action.DisconnectReceived:
		out.Command(service.Close{Peer: a.Peer})
	case action.CloseTimedOut:
		out.Command(service.Close{Peer: a.Peer})
	case action.MessageReceived:
		deliver(s, a, out)
	case action.GossipReceived:
		answerGossip(s, a, out)
	case action.GossipValidated:
		answerValidated(a, out)
	case action.Throttle:
		out.Command(service.Throttle{Peer: a.Peer})
	case action.Unthrottle:
		out.Command(service.Unthrottle{Peer: a.Peer})
	case action.BroadcastMessage:
		out.Command(service.Publish{Channel: a.Channel, Data: a.Data, Size: a.Size, Sum: a.Sum})
	case action.SendMessage:
		sendDirect(s, a, out)
	case action.SendRequest:
		sendRequest(s, a, out)
	case action.ServeRequest:
		out.Command(service.Serve{Peer: a.Peer, Channel: a.Channel, ID: a.ID, Data: a.Data, Size: a.Size, Sum: a.Sum})
	case action.SendResponse:
		if a.Len() <= s.Config.Channels[a.Channel].MaxSize { // else RequestRefused
			respond(s, a.Peer, a.Channel, a.ID, a.Status, a.Data, a.Size, a.Sum, out)
		}
	case action.RequestRefused:
		respond(s, a.Peer, a.Channel, a.ID, a.Status, nil, 0, [32]byte{}, out)
	case action.RequestDone:
		out.Command(service.Complete{Peer: a.Peer, ID: a.ID, Status: a.Status, Data: a.Data, Size: a.Size, Sum: a.Sum})
	case action.HelloReceived:
		answerHello(s, a.Peer, out)
	case action.AddrListAsk:
		sendControl(out, a.Peer, message.AddrListRequest{})
	case action.PingSend:
		sendPing(s, a.Peer, out)
	case action.PingRequestReceived:
		sendControl(out, a.Peer, message.PingResponse{Nonce: a.Nonce})
	case action.AddrListSend:
		sendControl(out, a.Peer, message.AddrListResponse{Peers: a.Peers})
	case action.AddrAnnounceSend:
		sendControl(out, a.Peer, message.AddrAnnounce{Peers: a.Peers})
	case action.StreamOpened:
		answerStream(s, a, out)
	case action.SavePeerStore:
		out.Command(service.SavePeerStore{Store: s.PeerStore()})
	case action.Advertise, action.FindProviders, action.ProvidersFound, action.LookupDone, action.HTTPGrant:
		runDHT(s, a, out)
	default:
		session(s, a, out)
	}
}

// sendControl encodes a control message and sends it.
func sendControl(out Out, peer state.PeerID, m message.Message) {
	out.Command(service.Send{Peer: peer, Channel: state.ChannelControl, Data: message.Marshal(m)})
}
