package reducer

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Ping (Mintlayer's PingRequest/PingResponse): a ready peer we have heard
// nothing from for PingInterval gets a PingRequest with a fresh nonce; it
// must echo the nonce within PingTimeout or it is dropped.

// tickPings sends pings to idle peers and drops those that did not answer.
func tickPings(s *state.State, q action.Queue) {
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		if p.Status != state.StatusReady {
			continue
		}
		if p.Ping.Outstanding {
			if s.Now-p.Ping.SentAt >= int64(s.Config.PingTimeout) {
				q.Push(action.Disconnect{Peer: id, Reason: state.ReasonPingTimeout})
			}
			continue
		}
		if s.Now-p.LastRecv >= int64(s.Config.PingInterval) && s.Now-p.Ping.SentAt >= int64(s.Config.PingInterval) {
			q.Push(action.PingSend{Peer: id})
		}
	}
}

func enabledPingSend(s *state.State, a action.PingSend) error {
	p, ok := s.Peers[a.Peer]
	switch {
	case !ok:
		return ErrUnknownPeer
	case p.Status != state.StatusReady:
		return ErrNotReady
	case p.Ping.Outstanding:
		return ErrWrongStatus
	}
	return nil
}

func reducePingSend(s *state.State, a action.PingSend) {
	p := s.Peers[a.Peer]
	p.Ping.Outstanding = true
	p.Ping.Nonce = s.RNG.Nonce()
	p.Ping.SentAt = s.Now
	s.Counters.PingsSent++
}

func enabledPingRequestReceived(s *state.State, a action.PingRequestReceived) error {
	p, ok := s.Peers[a.Peer]
	switch {
	case !ok:
		return ErrUnknownPeer
	case p.Status == state.StatusHandshaking:
		return violation("PingRequest before the handshake")
	case p.Status != state.StatusReady:
		return ErrNotReady
	}
	return nil
}

func enabledPingResponseReceived(s *state.State, a action.PingResponseReceived) error {
	p, ok := s.Peers[a.Peer]
	switch {
	case !ok:
		return ErrUnknownPeer
	case p.Status == state.StatusHandshaking:
		return violation("PingResponse before the handshake")
	case p.Status != state.StatusReady:
		return ErrNotReady
	case !p.Ping.Outstanding:
		return unsolicited("PingResponse without a PingRequest")
	}
	return nil
}

// reducePingResponseReceived checks the echoed nonce: the right one records
// the round-trip time, a wrong one drops the peer.
func reducePingResponseReceived(s *state.State, a action.PingResponseReceived, q action.Queue) {
	p := s.Peers[a.Peer]
	p.Ping.Outstanding = false
	if a.Nonce != p.Ping.Nonce {
		q.Push(action.Disconnect{Peer: a.Peer, Reason: state.ReasonBadPingNonce})
		return
	}
	p.Ping.RTT = s.Now - p.Ping.SentAt
	p.Ping.Answered++
}
