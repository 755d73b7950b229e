// Package reducer holds the rules of the p2pcore state machine: for every
// action, its enabling condition (may it apply to the current state?) and
// its reducer (how it changes the state and which derived actions it
// queues). One file per area; the same file names appear in action/,
// effects/ and, for the state, state/.
//
// Reducers are pure: no I/O, no clock, no goroutines. Time is Meta.Time,
// randomness is State.RNG, and every decision — accept a peer, ping it,
// drop it, dial someone — is made here, so the simulator and a replay run
// exactly the code a production node runs.
package reducer

import (
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Enabled returns nil when a may be applied to s, or an error saying why
// not. An action that is not enabled is a counted no-op: the store counts it
// and moves on.
func Enabled(s *state.State, a action.Action) error {
	switch a := a.(type) {
	case action.Tick:
		return nil
	case action.Shutdown:
		if s.Stopping {
			return ErrStopping
		}
		return nil
	case action.Connect:
		return enabledConnect(s, a)
	case action.Connected:
		return enabledConnected(s, a)
	case action.ConnectionFailed:
		return enabledConnectionFailed(s, a)
	case action.IncomingConnection:
		return enabledIncomingConnection(s, a)
	case action.Disconnect:
		return enabledDisconnect(s, a)
	case action.Disconnected:
		return enabledDisconnected(s, a)
	case action.DisconnectReceived:
		return enabledDisconnectReceived(s, a)
	case action.MessageReceived:
		return enabledMessageReceived(s, a)
	case action.BroadcastMessage:
		return enabledBroadcastMessage(s, a)
	case action.SendMessage:
		return enabledSendMessage(s, a)
	case action.Sent:
		return enabledSent(s, a)
	case action.Published:
		return enabledPublished(s, a)
	case action.SendFailed:
		return enabledSendFailed(s, a)
	case action.PublishFailed:
		return enabledPublishFailed(s, a)
	case action.Expired:
		return enabledExpired(s, a)
	case action.SendRequest:
		return enabledSendRequest(s, a)
	case action.RequestReceived:
		return enabledRequestReceived(s, a)
	case action.SendResponse:
		return enabledSendResponse(s, a)
	case action.ResponseReceived:
		return enabledResponseReceived(s, a)
	case action.RequestFailed:
		return enabledRequestFailed(s, a)
	case action.RequestDone:
		return enabledRequestDone(s, a)
	case action.RequestRefused:
		return enabledRequestRefused(s, a)
	case action.ServeRequest:
		return enabledServeRequest(s, a)
	case action.WriteStalled:
		return enabledWriteStalled(s, a)
	case action.CloseTimedOut:
		return enabledCloseTimedOut(s, a)
	case action.ReadStalled:
		return enabledReadStalled(s, a)
	case action.GossipReceived:
		return enabledGossipReceived(s, a)
	case action.GossipValidated:
		return enabledGossipValidated(s, a)
	case action.GossipStats:
		return enabledGossipStats(s, a)
	case action.GossipOffered:
		return enabledGossipOffered(s, a)
	case action.Throttle:
		return enabledThrottled(s, a.Peer)
	case action.Unthrottle:
		return enabledThrottled(s, a.Peer)
	case action.StreamOpened:
		return enabledStreamOpened(s, a)
	case action.StreamClosed:
		return enabledStreamClosed(s, a)
	case action.HelloReceived:
		return enabledHelloReceived(s, a)
	case action.HelloAckReceived:
		return enabledHelloAckReceived(s, a)
	case action.PeerReady:
		return enabledPeerReady(s, a)
	case action.PingSend:
		return enabledPingSend(s, a)
	case action.PingRequestReceived:
		return enabledPingRequestReceived(s, a)
	case action.PingResponseReceived:
		return enabledPingResponseReceived(s, a)
	case action.PeersDiscovered:
		return nil
	case action.PeerStoreLoaded:
		return nil
	case action.AddrListRequestReceived:
		return enabledAddrListRequestReceived(s, a)
	case action.AddrListResponseReceived:
		return enabledAddrListResponseReceived(s, a)
	case action.AddrAnnounceReceived:
		return enabledAddrAnnounceReceived(s, a)
	case action.AddrListSend:
		return readyPeer(s, a.Peer)
	case action.AddrListAsk:
		return enabledAddrListAsk(s, a)
	case action.AddrAnnounceSend:
		return readyPeer(s, a.Peer)
	case action.SavePeerStore:
		return nil
	case action.FrameRejected:
		return enabledFrameRejected(s, a)
	case action.Misbehaved:
		return enabledMisbehaved(s, a)
	case action.Ban:
		return enabledBan(s, a)
	case action.Unban:
		return enabledUnban(s, a)
	case action.Advertised:
		return enabledAdvertised(s, a)
	case action.ProvidersFound:
		return enabledProvidersFound(s, a)
	case action.FindPeers:
		return enabledFindPeers(s, a)
	case action.LookupDone:
		return enabledLookupDone(s, a)
	case action.Advertise, action.FindProviders, action.HTTPGrant, action.HTTPExchanged:
		return nil
	case action.HTTPAsk:
		return enabledHTTPAsk(s, a)
	case action.HTTPCancel:
		return enabledHTTPCancel(s, a)
	}
	if ok, err := enabledSession(s, a); ok {
		return err
	}
	return fmt.Errorf("%w: %T", ErrUnknownAction, a)
}

// Reduce applies an enabled action to s at m.Time and queues the derived
// actions it causes.
func Reduce(s *state.State, m action.Meta, a action.Action, q action.Queue) {
	switch a := a.(type) {
	case action.Tick:
		reduceTick(s, q)
	case action.Shutdown:
		reduceShutdown(s, q)
	case action.Connect:
		reduceConnect(s, a)
	case action.Connected:
		reduceConnected(s, a, q)
	case action.ConnectionFailed:
		reduceConnectionFailed(s, a, q)
	case action.IncomingConnection:
		reduceIncomingConnection(s, a, q)
	case action.Disconnect:
		reduceDisconnect(s, a)
	case action.Disconnected:
		reduceDisconnected(s, a, q)
	case action.DisconnectReceived:
		reduceDisconnectReceived(s, a)
	case action.MessageReceived:
		reduceMessageReceived(s, a, q)
	case action.BroadcastMessage:
		reduceBroadcastMessage(s, a)
	case action.SendMessage:
		reduceSendMessage(s, a)
	case action.Sent:
		reduceSent(s, a)
	case action.Published:
		reducePublished(s, a)
	case action.SendFailed:
		reduceSendFailed(s, a)
	case action.PublishFailed:
		reducePublishFailed(s, a)
	case action.Expired:
		reduceExpired(s, a)
	case action.SendRequest:
		reduceSendRequest(s, a)
	case action.RequestReceived:
		reduceRequestReceived(s, a, q)
	case action.SendResponse:
		reduceSendResponse(s, a, q)
	case action.ResponseReceived:
		reduceResponseReceived(s, a, q)
	case action.RequestFailed:
		reduceRequestFailed(s, a, q)
	case action.RequestDone:
		reduceRequestDone(s, a)
	case action.RequestRefused:
		reduceRequestRefused(s, a)
	case action.ServeRequest:
		// Handed to the application by the effect.
	case action.WriteStalled:
		reduceWriteStalled(s, a, q)
	case action.CloseTimedOut:
		reduceCloseTimedOut(s, a, q)
	case action.ReadStalled:
		reduceReadStalled(s, a, q)
	case action.GossipReceived:
		reduceGossipReceived(s, a, q)
	case action.GossipValidated:
		reduceGossipValidated(s, a, q)
	case action.GossipStats:
		reduceGossipStats(s, a, q)
	case action.GossipOffered:
		reduceGossipOffered(s, a, q)
	case action.Throttle:
		reduceThrottle(s, a, q)
	case action.Unthrottle:
		reduceUnthrottle(s, a)
	case action.StreamOpened:
		reduceStreamOpened(s, a)
	case action.StreamClosed:
		reduceStreamClosed(s, a)
	case action.HelloReceived:
		reduceHelloReceived(s, a, q)
	case action.HelloAckReceived:
		reduceHelloAckReceived(s, a, q)
	case action.PeerReady:
		reducePeerReady(s, a, q)
	case action.PingSend:
		reducePingSend(s, a)
	case action.PingRequestReceived:
		// Answered by the effect; nothing to remember.
	case action.PingResponseReceived:
		reducePingResponseReceived(s, a, q)
	case action.PeersDiscovered:
		reducePeersDiscovered(s, a)
	case action.PeerStoreLoaded:
		reducePeerStoreLoaded(s, a)
	case action.AddrListRequestReceived:
		reduceAddrListRequestReceived(s, a, q)
	case action.AddrListResponseReceived:
		reduceAddrListResponseReceived(s, a)
	case action.AddrAnnounceReceived:
		reduceAddrAnnounceReceived(s, a, q)
	case action.AddrListSend, action.AddrAnnounceSend:
		// Sent by the effect.
	case action.AddrListAsk:
		p := s.Peers[a.Peer]
		p.AddrAsked, p.AddrReceived, p.AddrAskedAt = true, false, s.Now
	case action.SavePeerStore:
		reduceSavePeerStore(s)
	case action.FrameRejected:
		reduceFrameRejected(s, a, q)
	case action.Misbehaved:
		reduceMisbehaved(s, a, q)
	case action.Ban:
		reduceBan(s, a, q)
	case action.Unban:
		reduceUnban(s, a, q)
	case action.Advertised:
		reduceAdvertised(s, a)
	case action.ProvidersFound:
		reduceProvidersFound(s, a, q)
	case action.FindPeers:
		reduceFindPeers(s, a, q)
	case action.LookupDone:
		reduceLookupDone(s, a)
	case action.Advertise, action.FindProviders, action.HTTPGrant:
		// Carried out by the effect.
	case action.HTTPAsk:
		reduceHTTPAsk(s, a, q)
	case action.HTTPCancel:
		reduceHTTPCancel(s, a)
	case action.HTTPExchanged:
		reduceHTTPExchanged(s, a)
	default:
		reduceSession(s, a, q)
	}
}
