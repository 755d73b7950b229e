package reducer

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// The handshake (Mintlayer's Hello/HelloAck): the dialler sends Hello, the
// listener checks it and answers HelloAck, the dialler checks that. A peer
// is Ready only after both. Incompatible peers are told why and closed.

// startHandshake moves a peer whose transport just came up into its
// handshake; in the dialler role it draws the Hello nonce (the effect sends
// the Hello).
func startHandshake(s *state.State, p *state.Peer, dir state.Direction) {
	p.Dir = dir
	p.Status = state.StatusHandshaking
	p.Since = s.Now
	p.Open = true
	p.LastRecv = s.Now
	if dir == state.Outbound {
		p.Handshake.Nonce = s.RNG.Nonce()
		p.Handshake.HelloSent = true
	}
}

func enabledHelloReceived(s *state.State, a action.HelloReceived) error {
	p, err := peerIn(s, a.Peer, state.StatusHandshaking)
	if err != nil {
		if p != nil && p.Status == state.StatusReady {
			return violation("Hello after the handshake")
		}
		return err
	}
	if p.Dir == state.Outbound {
		// Both sides dialled and both sent Hello. The one with the smaller
		// ID stays the dialler; the other answers as the listener.
		if s.Self.ID < a.Peer {
			return ErrSimultaneousOpen
		}
	}
	return nil
}

func reduceHelloReceived(s *state.State, a action.HelloReceived, q action.Queue) {
	p := s.Peers[a.Peer]
	h := a.Hello
	if ours := nonceOwner(s, h.Nonce); ours != nil {
		// Our own Hello nonce, from a peer that is not us (identities are
		// authenticated, and a connection from our own ID is refused
		// before any Hello): the peer replays a Hello we sent, to it or to
		// a peer it works with. Only the sender answers for it; the peer
		// we sent the nonce to, and its address, are left alone.
		q.Push(action.Misbehaved{Peer: p.ID, Offence: state.OffenceViolation, Detail: "replayed our own Hello nonce"})
		q.Push(action.Disconnect{Peer: p.ID, Reason: state.ReasonMisbehaviour})
		return
	}
	if reason := checkHello(s, p, h.Version, h.Network, h.UnixTime); reason != state.ReasonNone {
		q.Push(action.Disconnect{Peer: p.ID, Reason: reason})
		return
	}
	if p.Dir == state.Outbound {
		// A simultaneous open in which we yield: the peer is the dialler,
		// so we become the listener — the peer asks us for addresses and
		// we answer, and the pair agrees on who dialled. The peer moves to
		// an inbound place; a manual dial stays outside the limits, as
		// manual peers always are. If every inbound place is taken, the
		// peer keeps the outbound place it was dialled for rather than be
		// dropped (the pair then skips peer exchange).
		p.Handshake.HelloSent = false
		if p.Manual || s.Counts().Inbound < s.Config.MaxInbound {
			p.Dir = state.Inbound
		}
	}
	completeHandshake(s, p, h.Software, h.Services, h.ListenAddrs, h.Observed, h.Channels, q)
}

func enabledHelloAckReceived(s *state.State, a action.HelloAckReceived) error {
	p, err := peerIn(s, a.Peer, state.StatusHandshaking)
	if err != nil {
		if p != nil && p.Status == state.StatusReady {
			return violation("HelloAck after the handshake")
		}
		return err
	}
	if !p.Handshake.HelloSent {
		return violation("HelloAck without our Hello")
	}
	return nil
}

func reduceHelloAckReceived(s *state.State, a action.HelloAckReceived, q action.Queue) {
	p := s.Peers[a.Peer]
	h := a.Ack
	if reason := checkHello(s, p, h.Version, h.Network, h.UnixTime); reason != state.ReasonNone {
		q.Push(action.Disconnect{Peer: p.ID, Reason: reason})
		return
	}
	completeHandshake(s, p, h.Software, h.Services, h.ListenAddrs, h.Observed, h.Channels, q)
}

// checkHello applies the compatibility rules shared by Hello and HelloAck
// and negotiates the protocol version.
func checkHello(s *state.State, p *state.Peer, version uint32, network string, unix int64) state.Reason {
	cfg := &s.Config
	if network != cfg.Network {
		return state.ReasonWrongNetwork
	}
	common := min(version, cfg.ProtocolVersion)
	if version == 0 || common < cfg.MinProtocolVersion {
		return state.ReasonIncompatibleVersion
	}
	offset := unix - s.Now/1e9
	if limit := int64(cfg.MaxClockSkew / 1e9); offset > limit || offset < -limit {
		return state.ReasonClockSkew
	}
	p.Handshake.Version = common
	p.Handshake.ClockOffset = offset
	return state.ReasonNone
}

// nonceOwner returns the peer we sent a Hello with nonce to, if any.
func nonceOwner(s *state.State, nonce uint64) *state.Peer {
	if nonce == 0 {
		return nil
	}
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		if p.Handshake.HelloSent && p.Handshake.Nonce == nonce {
			return p
		}
	}
	return nil
}

func completeHandshake(s *state.State, p *state.Peer, software string, services uint64,
	listen []state.Addr, observed state.Addr, chans []message.ChannelInfo, q action.Queue) {
	p.Remote = sharedChannels(&s.Config, chans)
	hs := &p.Handshake
	hs.Done = true
	hs.Software = software
	hs.Services = services
	hs.ListenAddrs = append([]state.Addr(nil), listen...)
	hs.Observed = observed
	p.Status = state.StatusReady
	p.Since = s.Now
	p.LastRecv = s.Now
	s.Counters.Handshakes++
	q.Push(action.PeerReady{Peer: p.ID})
}

func enabledPeerReady(s *state.State, a action.PeerReady) error {
	return readyPeer(s, a.Peer)
}

// reducePeerReady starts peer exchange with a new outbound peer: we ask it
// for addresses (AddrListAsk) and announce our own address to it. The peer's listen
// addresses go into the book as heard first-hand.
func reducePeerReady(s *state.State, a action.PeerReady, q action.Queue) {
	p := s.Peers[a.Peer]
	if p.Dir == state.Outbound {
		q.Push(action.AddrListAsk{Peer: p.ID})
		markTried(s, p)
		if len(s.Self.ListenAddrs) > 0 {
			self := state.PeerAddr{ID: s.Self.ID, Addrs: message.Sendable(s.Self.ListenAddrs)}
			q.Push(action.AddrAnnounceSend{Peer: p.ID, Peers: []state.PeerAddr{self}})
			s.Discovery.Announced++
		}
		return
	}
	if len(p.Handshake.ListenAddrs) > 0 {
		learn(s, state.PeerAddr{ID: p.ID, Addrs: p.Handshake.ListenAddrs}, "")
	}
}

// tickHandshakes drops peers that did not finish a dial or a handshake in
// time, and peers admitted only for addresses that did not ask for them
// within HandshakeTimeout of the handshake.
func tickHandshakes(s *state.State, q action.Queue) {
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		age := s.Now - p.Since
		switch {
		case p.Status == state.StatusConnecting && age >= int64(s.Config.DialTimeout):
			q.Push(action.Disconnect{Peer: id, Reason: state.ReasonDialTimeout})
		case p.Status == state.StatusHandshaking && age >= int64(s.Config.HandshakeTimeout):
			q.Push(action.Disconnect{Peer: id, Reason: state.ReasonHandshakeTimeout})
		case p.Status == state.StatusReady && p.AddrOnly && age >= int64(s.Config.HandshakeTimeout):
			q.Push(action.Disconnect{Peer: id, Reason: state.ReasonTooManyPeers})
		case p.Status == state.StatusDisconnecting && age >= int64(s.Config.DisconnectTimeout):
			q.Push(action.CloseTimedOut{Peer: id})
		}
	}
}

// sharedChannels maps each of our channels to the number the peer gave
// it (its place in the peer's list, from 1), where the peer has one of
// the same name, kind and version; 0 where it has none.
func sharedChannels(cfg *state.Config, theirs []message.ChannelInfo) []state.Channel {
	remote := make([]state.Channel, len(cfg.Channels))
	for i, c := range theirs {
		ch, ok := cfg.ChannelByName(c.Name)
		if ok && ch != state.ChannelControl && cfg.Channels[ch].Kind == c.Kind && cfg.Channels[ch].Version == c.Version {
			remote[ch] = state.Channel(i + 1)
		}
	}
	return remote
}
