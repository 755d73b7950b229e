package effects

import (
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// sendHelloIfDialler opens the handshake on a connection where we are the
// dialler.
func sendHelloIfDialler(s *state.State, id state.PeerID, out Out) {
	p, ok := s.Peers[id]
	if !ok || p.Status != state.StatusHandshaking || !p.Handshake.HelloSent {
		return
	}
	cfg := &s.Config
	sendControl(out, id, message.Hello{
		Version: cfg.ProtocolVersion, Network: cfg.Network, Software: cfg.Software,
		Services: cfg.Services, ListenAddrs: message.Sendable(s.Self.ListenAddrs), Observed: message.SendableAddr(p.Addr),
		UnixTime: s.Now / 1e9, Nonce: p.Handshake.Nonce, Channels: message.ChannelInfos(cfg),
	})
}

// answerHello sends HelloAck once the reducer accepted the peer's Hello.
func answerHello(s *state.State, id state.PeerID, out Out) {
	p, ok := s.Peers[id]
	if !ok || p.Status != state.StatusReady {
		return
	}
	cfg := &s.Config
	sendControl(out, id, message.HelloAck{
		Version: cfg.ProtocolVersion, Network: cfg.Network, Software: cfg.Software,
		Services: cfg.Services, ListenAddrs: message.Sendable(s.Self.ListenAddrs), Observed: message.SendableAddr(p.Addr),
		UnixTime: s.Now / 1e9, Channels: message.ChannelInfos(cfg),
	})
}
