package reducer

import (
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
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
	if s.Config.HasChannel(a.Channel) && a.Size > uint64(s.Config.Channels[a.Channel].MaxSize) {
		offence = state.OffenceOversized
	}
	q.Push(action.Misbehaved{Peer: a.Peer, Offence: offence,
		Detail: fmt.Sprintf("%s (%d bytes on %s)", a.Reason, a.Size, s.Config.ChannelName(a.Channel))})
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

// BanTarget returns the form under which target is banned: a peer ID as
// it is, an IP address in canonical text (lower case, IPv4-mapped IPv6
// unmapped, zone dropped), the host of a multiaddr. Bans are matched by
// exact key, so "2001:DB8::1" must become "2001:db8::1" or it would ban
// nothing. Anything else is an error.
func BanTarget(ids state.IDScheme, target string) (string, error) {
	if ip, err := netip.ParseAddr(target); err == nil {
		return ip.Unmap().WithZone("").String(), nil
	}
	if strings.HasPrefix(target, "/") {
		if host := state.AddrHost(state.Addr(target)); host != "" {
			return host, nil
		}
		return "", fmt.Errorf("%w: ban target %q: a multiaddr must start with /ip4, /ip6 or /dns", ErrInvalid, target)
	}
	if !message.CanonicalPeerID(ids, target) {
		return "", fmt.Errorf("%w: ban target %q: want a peer ID, an IP address or a multiaddr", ErrInvalid, target)
	}
	return target, nil
}

func enabledBan(s *state.State, a action.Ban) error {
	if _, err := BanTarget(s.Config.IDs, a.Target); err != nil {
		return err
	}
	if a.Duration <= 0 {
		return fmt.Errorf("%w: ban duration %v", ErrInvalid, a.Duration)
	}
	return nil
}

// reduceBan records the ban, drops every peer it covers and saves at once.
// A duration too long to add to now (math.MaxInt64 for "forever") bans
// until the end of time instead of wrapping into the past.
func reduceBan(s *state.State, a action.Ban, q action.Queue) {
	target, _ := BanTarget(s.Config.IDs, a.Target)
	until := int64(math.MaxInt64)
	if int64(a.Duration) < math.MaxInt64-s.Now {
		until = s.Now + int64(a.Duration)
	}
	s.Bans[target] = state.Ban{Until: until, Manual: true, Reason: a.Reason}
	s.Discovery.Dirty = true
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		if p.Status != state.StatusDisconnecting && s.Banned(id, p.Addr) {
			q.Push(action.Disconnect{Peer: id, Reason: state.ReasonBanned})
		}
	}
	q.Push(action.SavePeerStore{})
}

// unbanKey finds the ban an Unban means: the canonical form of its target,
// or the target as written (a ban loaded from an older peer store may not
// be canonical).
func unbanKey(s *state.State, target string) (string, bool) {
	if key, err := BanTarget(s.Config.IDs, target); err == nil {
		if _, ok := s.Bans[key]; ok {
			return key, true
		}
	}
	_, ok := s.Bans[target]
	return target, ok
}

func enabledUnban(s *state.State, a action.Unban) error {
	if _, ok := unbanKey(s, a.Target); !ok {
		return fmt.Errorf("%w: %q is not banned", ErrInvalid, a.Target)
	}
	return nil
}

func reduceUnban(s *state.State, a action.Unban, q action.Queue) {
	key, _ := unbanKey(s, a.Target)
	delete(s.Bans, key)
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
