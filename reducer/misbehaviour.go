package reducer

import (
	"fmt"
	"net/netip"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Misbehaviour and bans: every offence adds its configured score; at
// BanThreshold the peer is disconnected and its ID and IP are discouraged
// for DiscourageFor. Manual bans come from the API with their own expiry.
// Both are persisted with the address book.

func enabledFrameRejected(s *state.State, a action.FrameRejected) error {
	_, err := peerIn(s, a.Peer, state.StatusHandshaking, state.StatusReady)
	return err
}

// reduceFrameRejected scores a frame the service refused: oversized if it
// claimed more than its channel allows, malformed otherwise.
func reduceFrameRejected(s *state.State, a action.FrameRejected, q action.Queue) {
	offence := state.OffenceMalformed
	if a.Channel.Valid() && a.Size > uint64(s.Config.Channels[a.Channel].MaxSize) {
		offence = state.OffenceOversized
	}
	q.Push(action.Misbehaved{Peer: a.Peer, Offence: offence,
		Detail: fmt.Sprintf("%s (%d bytes on %s)", a.Reason, a.Size, a.Channel)})
}

func enabledMisbehaved(s *state.State, a action.Misbehaved) error {
	if a.Offence == state.OffenceNone || a.Offence >= state.NumOffences {
		return fmt.Errorf("%w: offence %d", ErrInvalid, a.Offence)
	}
	_, err := peerIn(s, a.Peer, state.StatusHandshaking, state.StatusReady)
	return err
}

func reduceMisbehaved(s *state.State, a action.Misbehaved, q action.Queue) {
	p := s.Peers[a.Peer]
	p.Score += s.Config.Score(a.Offence)
	s.Counters.Offences[a.Offence]++
	if p.Score < s.Config.BanThreshold {
		return
	}
	ban := state.Ban{Until: s.Now + int64(s.Config.DiscourageFor), Reason: a.Offence.String()}
	s.Bans[string(p.ID)] = ban
	// Discourage the IP too, unless it is local: nodes on one machine share
	// it, and one bad local peer must not cut us off from the others.
	if ip, ok := state.AddrIP(p.Addr); ok && !isLocal(ip) {
		s.Bans[ip.String()] = ban
	}
	s.Discovery.Dirty = true
	q.Push(action.Disconnect{Peer: p.ID, Reason: state.ReasonMisbehaviour})
}

func isLocal(ip netip.Addr) bool { return ip.IsLoopback() || ip.IsUnspecified() }

func enabledBan(s *state.State, a action.Ban) error {
	if a.Target == "" || len(a.Target) > 256 {
		return fmt.Errorf("%w: ban target %q", ErrInvalid, a.Target)
	}
	if a.Duration <= 0 {
		return fmt.Errorf("%w: ban duration %v", ErrInvalid, a.Duration)
	}
	return nil
}

// reduceBan records the ban, drops every peer it covers and saves at once.
func reduceBan(s *state.State, a action.Ban, q action.Queue) {
	s.Bans[a.Target] = state.Ban{Until: s.Now + int64(a.Duration), Manual: true, Reason: a.Reason}
	s.Discovery.Dirty = true
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		if p.Status != state.StatusDisconnecting && s.Banned(id, p.Addr) {
			q.Push(action.Disconnect{Peer: id, Reason: state.ReasonBanned})
		}
	}
	q.Push(action.SavePeerStore{})
}

func enabledUnban(s *state.State, a action.Unban) error {
	if _, ok := s.Bans[a.Target]; !ok {
		return fmt.Errorf("%w: %q is not banned", ErrInvalid, a.Target)
	}
	return nil
}

func reduceUnban(s *state.State, a action.Unban, q action.Queue) {
	delete(s.Bans, a.Target)
	s.Discovery.Dirty = true
	q.Push(action.SavePeerStore{})
}

// tickBans forgets bans that have expired.
func tickBans(s *state.State) {
	for _, target := range state.SortedKeys(s.Bans) {
		if s.Bans[target].Until <= s.Now {
			delete(s.Bans, target)
			s.Discovery.Dirty = true
		}
	}
}
