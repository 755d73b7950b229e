package reducer

import (
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// The connection life cycle: dial, accept or refuse, close, and the
// service's confirmations. Every close goes through Disconnect, so every
// refused or dropped peer is told why and the reason is counted.

func enabledConnect(s *state.State, a action.Connect) error {
	if !message.CanonicalPeerID(s.Config.IDs, string(a.Peer)) {
		return fmt.Errorf("%w: peer ID %q is not in canonical form", ErrInvalid, a.Peer)
	}
	if len(a.Addrs) == 0 {
		return fmt.Errorf("%w: no address to dial %s", ErrInvalid, a.Peer)
	}
	for _, addr := range a.Addrs {
		if !message.ValidAddr(string(addr)) {
			return fmt.Errorf("%w: address %q", ErrInvalid, addr)
		}
	}
	if s.IsSelf(a.Peer, a.Addrs...) {
		return ErrSelf
	}
	if s.Stopping {
		return ErrStopping
	}
	if p, ok := s.Peers[a.Peer]; ok {
		return fmt.Errorf("%w (%s)", ErrAlreadyConnected, p.Status)
	}
	if s.Banned(a.Peer, a.Addrs...) {
		return ErrBanned
	}
	if !a.Manual {
		if s.Counts().Outbound >= s.Config.OutboundTarget {
			return ErrOutboundFull
		}
		if s.OutboundGroups()[state.AddrGroup(a.Addrs[0])] {
			return ErrGroupUsed
		}
	}
	return nil
}

func reduceConnect(s *state.State, a action.Connect) {
	s.Peers[a.Peer] = state.NewPeer(&s.Config, state.Peer{
		ID:      a.Peer,
		Dir:     state.Outbound,
		Manual:  a.Manual,
		Addr:    a.Addrs[0],
		Dialled: append([]state.Addr(nil), a.Addrs...),
		Group:   state.AddrGroup(a.Addrs[0]),
		Status:  state.StatusConnecting,
		Since:   s.Now,
	})
	if e, ok := s.Discovery.Book[a.Peer]; ok {
		e.LastAttempt = s.Now
	}
}

func enabledConnected(s *state.State, a action.Connected) error {
	_, err := peerIn(s, a.Peer, state.StatusConnecting)
	return err
}

func reduceConnected(s *state.State, a action.Connected, q action.Queue) {
	p := s.Peers[a.Peer]
	// Store the entry again under the service's copy of the ID, and keep
	// that copy as the peer's own. Both were the address book's copy,
	// decoded from a peer's message; every later action about this peer
	// carries the service's, and Go's map, on assignment, keeps the key it
	// is given: lookups then find the same string rather than compare 50
	// bytes of another copy, and comparisons with p.ID read bytes that
	// other actions keep in the cache. In a simulation of a thousand nodes
	// that is a cache miss or two per message. The state does not change.
	s.Peers[a.Peer], p.ID = p, a.Peer
	if moveTo(s, p, a.Addr) {
		q.Push(action.Disconnect{Peer: p.ID, Reason: state.ReasonGroupLimit})
		return
	}
	startHandshake(s, p, state.Outbound)
}

// moveTo records the address an outbound connection actually uses, which
// may be any of the addresses dialled, and regroups the peer by it. It
// reports whether an automatic outbound peer now shares its group with
// another one: the /16 rule was checked against the first address only,
// so a peer with addresses in several groups could otherwise slip in.
func moveTo(s *state.State, p *state.Peer, addr state.Addr) bool {
	if addr == "" || addr == p.Addr {
		return false
	}
	p.Addr = addr
	p.Group = state.AddrGroup(addr)
	if !p.Outbound() {
		return false
	}
	for _, id := range state.SortedKeys(s.Peers) {
		o := s.Peers[id]
		if id != p.ID && o.Outbound() && o.Status != state.StatusDisconnecting && o.Group == p.Group {
			return true
		}
	}
	return false
}

func enabledConnectionFailed(s *state.State, a action.ConnectionFailed) error {
	_, err := peerIn(s, a.Peer, state.StatusConnecting)
	return err
}

func reduceConnectionFailed(s *state.State, a action.ConnectionFailed, q action.Queue) {
	s.Counters.DialFailures++
	removePeer(s, s.Peers[a.Peer], q)
}

func enabledIncomingConnection(s *state.State, a action.IncomingConnection) error {
	if !message.CanonicalPeerID(s.Config.IDs, string(a.Peer)) {
		return fmt.Errorf("%w: peer ID %q is not in canonical form", ErrInvalid, a.Peer)
	}
	if a.Peer == s.Self.ID {
		return ErrSelf
	}
	if p, ok := s.Peers[a.Peer]; ok && p.Status != state.StatusConnecting {
		return fmt.Errorf("%w (%s)", ErrAlreadyConnected, p.Status)
	}
	return nil
}

// reduceIncomingConnection takes a connection we did not dial: it is
// accepted into its handshake if our limits allow, or accepted only to be
// told why it is refused and closed.
func reduceIncomingConnection(s *state.State, a action.IncomingConnection, q action.Queue) {
	dir := state.Inbound
	if a.Outbound {
		dir = state.Outbound
	}
	if p, dialling := s.Peers[a.Peer]; dialling {
		// We are dialling the peer and its own dial reached us first. Both
		// sides apply the same rule so exactly one of them says Hello: the
		// node with the smaller ID keeps the dialler role.
		if s.Self.ID < a.Peer {
			if s.Banned(a.Peer, a.Addr) {
				// The dial was allowed, but the address it came in on is
				// banned: the same rule admission applies.
				q.Push(action.Disconnect{Peer: p.ID, Reason: state.ReasonBanned})
				return
			}
			if moveTo(s, p, a.Addr) {
				q.Push(action.Disconnect{Peer: p.ID, Reason: state.ReasonGroupLimit})
				return
			}
			startHandshake(s, p, state.Outbound)
			return
		}
		delete(s.Peers, a.Peer)
	}
	p := state.NewPeer(&s.Config, state.Peer{
		ID:     a.Peer,
		Dir:    dir,
		Addr:   a.Addr,
		Group:  state.AddrGroup(a.Addr),
		Status: state.StatusHandshaking,
		Since:  s.Now,
		Open:   true,
	})
	reason := admission(s, p)
	if reason == state.ReasonTooManyPeers && dir == state.Inbound && s.Config.AddrsWhenFull &&
		s.Counts().PendingInbound < s.Config.MaxPendingInbound {
		// No inbound place is free, but the newcomer need not leave with
		// nothing: it is let through its handshake to be given addresses,
		// and then let go (see reduceAddrListRequestReceived).
		p.AddrOnly = true
		reason = state.ReasonNone
	}
	s.Peers[a.Peer] = p
	if reason != state.ReasonNone {
		q.Push(action.Disconnect{Peer: a.Peer, Reason: reason})
		return
	}
	startHandshake(s, p, dir)
}

// admission decides whether a connection we did not dial may stay, before
// it is added to the peer table.
func admission(s *state.State, p *state.Peer) state.Reason {
	if s.Stopping {
		return state.ReasonShutdown
	}
	if s.Banned(p.ID, p.Addr) {
		return state.ReasonBanned
	}
	c := s.Counts()
	if p.Dir == state.Inbound {
		switch {
		case c.Inbound >= s.Config.MaxInbound:
			return state.ReasonTooManyPeers
		case c.PendingInbound >= s.Config.MaxPendingInbound:
			return state.ReasonTooManyPending
		}
		return state.ReasonNone
	}
	// An outbound connection another subsystem opened counts like our
	// own while there is room; beyond, it is a service peer, for a while,
	// while there is room for those.
	switch {
	case c.Outbound < s.Config.OutboundTarget && !s.OutboundGroups()[p.Group]:
		return state.ReasonNone
	case c.Service < s.Config.MaxServicePeers:
		p.Service, p.ServiceUntil = true, s.Now+int64(s.Config.ServicePeerLinger)
		return state.ReasonNone
	case c.Outbound >= s.Config.OutboundTarget:
		return state.ReasonTooManyPeers
	}
	return state.ReasonGroupLimit
}

// tickServicePeers closes the service peers whose time is up: the DHT
// query or the GossipSub exchange that opened them has had its chance,
// and the place is kept for the next.
func tickServicePeers(s *state.State, q action.Queue) {
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		if p.Service && p.Status != state.StatusDisconnecting && p.ServiceUntil <= s.Now {
			q.Push(action.Disconnect{Peer: id, Reason: state.ReasonTooManyPeers})
		}
	}
}

// reduceShutdown tells every peer not already closing that we are
// leaving, and saves the address book so a restart begins where this run
// ended. From here on admission refuses and no one is dialled.
func reduceShutdown(s *state.State, q action.Queue) {
	s.Stopping = true
	for _, id := range state.SortedKeys(s.Peers) {
		if s.Peers[id].Status != state.StatusDisconnecting {
			q.Push(action.Disconnect{Peer: id, Reason: state.ReasonShutdown})
		}
	}
	if s.Discovery.Dirty {
		q.Push(action.SavePeerStore{})
	}
}

func enabledDisconnect(s *state.State, a action.Disconnect) error {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return ErrUnknownPeer
	}
	if p.Status == state.StatusDisconnecting {
		return fmt.Errorf("%w: already disconnecting", ErrWrongStatus)
	}
	return nil
}

func reduceDisconnect(s *state.State, a action.Disconnect) {
	p := s.Peers[a.Peer]
	reason := a.Reason
	if reason == state.ReasonNone {
		reason = state.ReasonRequested
	}
	p.Status = state.StatusDisconnecting
	p.Since = s.Now
	p.Reason = reason
	p.Ping.Outstanding = false
	s.Counters.Disconnects[reason]++
}

func enabledDisconnected(s *state.State, a action.Disconnected) error {
	if _, ok := s.Peers[a.Peer]; !ok {
		return ErrUnknownPeer
	}
	return nil
}

// reduceDisconnected is the service's word that no connection to the peer
// is left: the end of every peer's life, whoever closed.
func reduceDisconnected(s *state.State, a action.Disconnected, q action.Queue) {
	p := s.Peers[a.Peer]
	if p.Status != state.StatusDisconnecting {
		s.Counters.Disconnects[state.ReasonRemoteClosed]++
		if p.RemoteReason == state.ReasonNone {
			s.Counters.RemoteDisconnects[state.ReasonRemoteClosed]++
		}
	}
	removePeer(s, p, q)
}

func enabledDisconnectReceived(s *state.State, a action.DisconnectReceived) error {
	_, err := peerIn(s, a.Peer, state.StatusHandshaking, state.StatusReady)
	return err
}

// reduceDisconnectReceived records why the peer is leaving; we stop using
// it at once and wait for the service to see the close.
func reduceDisconnectReceived(s *state.State, a action.DisconnectReceived) {
	p := s.Peers[a.Peer]
	p.RemoteReason = a.Reason
	s.Counters.RemoteDisconnects[a.Reason]++
	p.Status = state.StatusDisconnecting
	p.Since = s.Now
	p.Reason = state.ReasonRemoteClosed
	p.Ping.Outstanding = false
	s.Counters.Disconnects[state.ReasonRemoteClosed]++
}

// removePeer takes a peer out of the table (status Disconnected) and
// updates its address-book entry: a dial that never completed a handshake
// is a failure and backs off exponentially; a peer we were connected to,
// in either direction, waits at least one base interval before we dial it,
// so a peer that has just said it is shutting down is not dialled straight
// back — unless it left only to release us as its bootnode.
func removePeer(s *state.State, p *state.Peer, q action.Queue) {
	delete(s.Peers, p.ID)
	abortRequests(s, p.ID, q)
	stopSessions(s, p, q)
	e, ok := s.Discovery.Book[p.ID]
	if !ok {
		return
	}
	switch {
	case p.Dir == state.Outbound && !p.Handshake.Done && e.Boot && busy(p.RemoteReason):
		// A bootnode that is full now is no failing address, and for a
		// newcomer it is the only door: retry within BackoffBase, at a
		// time drawn from the state RNG, so that a crowd the bootnode
		// turned away together comes back spread out rather than in the
		// same instant, or after doubling waits.
		base := int64(s.Config.BackoffBase)
		e.RetryAt = s.Now + base/10 + s.RNG.Int63n(base-base/10+1)
	case p.Dir == state.Outbound && !p.Handshake.Done:
		e.Failures++
		e.RetryAt = s.Now + backoff(s, e.Failures)
		e.TimedOut = p.Reason == state.ReasonDialTimeout || p.Reason == state.ReasonHandshakeTimeout
	case p.Dir == state.Outbound:
		e.Failures, e.TimedOut = 0, false
		e.RetryAt = s.Now + int64(s.Config.BackoffBase)
	case p.RemoteReason == state.ReasonBootstrapDone:
		// An inbound peer that only let us go as its bootnode is there to
		// be dialled: a bootnode that all its first peers release at
		// once would otherwise have nobody to dial for BackoffBase.
	default:
		e.RetryAt = max(e.RetryAt, s.Now+int64(s.Config.BackoffBase))
	}
	s.Discovery.Dirty = true
}

// busy reports whether a peer's reason for refusing us is its capacity.
func busy(r state.Reason) bool {
	return r == state.ReasonTooManyPeers || r == state.ReasonTooManyPending
}

// backoff is the wait after the n-th consecutive failure: BackoffBase ×
// 2^(n-1), capped at BackoffCap, less up to a fifth drawn from the state RNG
// so that nodes that failed together do not retry together.
func backoff(s *state.State, n int) int64 {
	base, ceiling := int64(s.Config.BackoffBase), int64(s.Config.BackoffCap)
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	if d > ceiling {
		d = ceiling
	}
	return d - s.RNG.Int63n(d/5+1)
}

func enabledWriteStalled(s *state.State, a action.WriteStalled) error {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return ErrUnknownPeer
	}
	if p.Status == state.StatusDisconnecting {
		return fmt.Errorf("%w: already disconnecting", ErrWrongStatus)
	}
	return nil
}

// reduceWriteStalled drops a peer that has taken nothing we wrote for the
// configured time: it holds its writer, its place and — for GossipSub —
// every broadcast of ours, so it goes, with the reason "slow peer".
func reduceWriteStalled(s *state.State, a action.WriteStalled, q action.Queue) {
	s.Counters.Stalls++
	q.Push(action.Disconnect{Peer: a.Peer, Reason: state.ReasonSlowPeer})
}

func enabledReadStalled(s *state.State, a action.ReadStalled) error {
	return enabledWriteStalled(s, action.WriteStalled{Peer: a.Peer})
}

// reduceReadStalled drops a peer whose frame stopped arriving: like one
// that stops reading, it is slow, not malformed.
func reduceReadStalled(s *state.State, a action.ReadStalled, q action.Queue) {
	s.Counters.Stalls++
	q.Push(action.Disconnect{Peer: a.Peer, Reason: state.ReasonSlowPeer})
}

func enabledCloseTimedOut(s *state.State, a action.CloseTimedOut) error {
	_, err := peerIn(s, a.Peer, state.StatusDisconnecting)
	return err
}

// reduceCloseTimedOut ends a peer whose close the service never confirmed:
// no entry stays Disconnecting for ever. The effect asks for the close
// once more; a confirmation that comes after all is refused as being for
// an unknown peer.
func reduceCloseTimedOut(s *state.State, a action.CloseTimedOut, q action.Queue) {
	s.Counters.CloseTimeouts++
	removePeer(s, s.Peers[a.Peer], q)
}
