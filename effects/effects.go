// Package effects maps actions onto service commands.
//
// An effect runs after its action's reducer, reads the state the reducer
// left, and tells the service what to do: dial, send, publish, close,
// deliver, save. Effects never change the state and never use a value from
// the service; they may queue derived actions. With the no-op service of a
// replay they run unchanged, so a replay queues the same derived actions.
package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Run carries out the effect of an action that has just been reduced.
func Run(s *state.State, m action.Meta, a action.Action, svc service.Service, q action.Queue) {
	switch a := a.(type) {
	case action.Connect:
		connect(s, a, svc)
	case action.Connected:
		sendHelloIfDialler(s, a.Peer, svc)
	case action.IncomingConnection:
		sendHelloIfDialler(s, a.Peer, svc)
	case action.Disconnect:
		disconnect(s, a, svc)
	case action.DisconnectReceived:
		svc.Close(a.Peer)
	case action.MessageReceived:
		deliver(a, svc)
	case action.BroadcastMessage:
		svc.Publish(a.Channel, a.Data)
	case action.SendMessage:
		svc.Send(a.Peer, a.Channel, a.Data)
	case action.HelloReceived:
		answerHello(s, a.Peer, svc)
	case action.PeerReady:
		askForAddrs(s, a.Peer, svc)
	case action.PingSend:
		sendPing(s, a.Peer, svc)
	case action.PingRequestReceived:
		sendControl(svc, a.Peer, message.PingResponse{Nonce: a.Nonce})
	case action.AddrListSend:
		sendControl(svc, a.Peer, message.AddrListResponse{Peers: a.Peers})
	case action.AddrAnnounceSend:
		sendControl(svc, a.Peer, message.AddrAnnounce{Peers: a.Peers})
	case action.SavePeerStore:
		svc.SavePeerStore(s.PeerStore())
	}
}

// sendControl encodes a control message and sends it.
func sendControl(svc service.Service, peer state.PeerID, m message.Message) {
	svc.Send(peer, state.ChannelControl, message.Marshal(m))
}
