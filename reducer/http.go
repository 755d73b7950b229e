package reducer

import (
	"fmt"
	"slices"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// The HTTP client's per-peer rate limit, decided here rather than in the
// client so that it is in the log and the simulator: at most HTTPRateLimit
// requests start per HTTPRateWindow to one peer; a request beyond waits,
// in order, for the next window, and one that waited HTTPQueueTimeout
// gives up (the client's ErrQueueingTimeout). Windows are fixed, starting
// at the first request after the last one ended, as Algorand's are.

func enabledHTTPAsk(s *state.State, a action.HTTPAsk) error {
	if !message.CanonicalPeerID(s.Config.IDs, string(a.Peer)) {
		return fmt.Errorf("%w: peer ID %q is not in canonical form", ErrInvalid, a.Peer)
	}
	if s.Stopping {
		return ErrStopping
	}
	// Only to a peer we keep: a request to anyone else would make the
	// host open a connection the limits never agreed to.
	if err := readyPeer(s, a.Peer); err != nil {
		return err
	}
	if p := s.HTTP.Peers[a.Peer]; p != nil && slices.ContainsFunc(p.Waiting, func(w state.HTTPWait) bool { return w.Ticket == a.Ticket }) {
		return fmt.Errorf("%w: ticket %d is already waiting", ErrInvalid, a.Ticket)
	}
	return nil
}

// rollWindow starts a new window if the current one is over.
func rollWindow(s *state.State, p *state.HTTPPeer) {
	if s.Now >= p.WindowStart+int64(s.Config.HTTPRateWindow) {
		p.WindowStart, p.Used = s.Now, 0
	}
}

func reduceHTTPAsk(s *state.State, a action.HTTPAsk, q action.Queue) {
	if s.HTTP.Peers == nil {
		s.HTTP.Peers = make(map[state.PeerID]*state.HTTPPeer)
	}
	p := s.HTTP.Peers[a.Peer]
	if p == nil {
		p = &state.HTTPPeer{WindowStart: s.Now}
		s.HTTP.Peers[a.Peer] = p
	}
	rollWindow(s, p)
	switch {
	case len(p.Waiting) == 0 && p.Used < s.Config.HTTPRateLimit:
		p.Used++
		q.Push(action.HTTPGrant{Peer: a.Peer, Ticket: a.Ticket, OK: true})
	case len(p.Waiting) >= s.Config.HTTPMaxWaiting:
		s.HTTP.Refused++
		q.Push(action.HTTPGrant{Peer: a.Peer, Ticket: a.Ticket})
	default:
		p.Waiting = append(p.Waiting, state.HTTPWait{Ticket: a.Ticket, Since: s.Now})
	}
}

func enabledHTTPCancel(s *state.State, a action.HTTPCancel) error {
	if p := s.HTTP.Peers[a.Peer]; p != nil && slices.ContainsFunc(p.Waiting, func(w state.HTTPWait) bool { return w.Ticket == a.Ticket }) {
		return nil
	}
	return fmt.Errorf("%w: ticket %d of %s is not waiting", ErrNotOutstanding, a.Ticket, a.Peer)
}

func reduceHTTPCancel(s *state.State, a action.HTTPCancel) {
	p := s.HTTP.Peers[a.Peer]
	p.Waiting = slices.DeleteFunc(p.Waiting, func(w state.HTTPWait) bool { return w.Ticket == a.Ticket })
}

func reduceHTTPExchanged(s *state.State, a action.HTTPExchanged) {
	s.HTTP.Exchanges++
	if a.Bytes > 0 {
		s.HTTP.Bytes += uint64(a.Bytes)
	}
}

// tickHTTP grants waiting requests as windows open, refuses those that
// waited too long, and forgets peers with nothing left to limit.
func tickHTTP(s *state.State, q action.Queue) {
	for _, id := range state.SortedKeys(s.HTTP.Peers) {
		p := s.HTTP.Peers[id]
		rollWindow(s, p)
		kept := p.Waiting[:0]
		for _, w := range p.Waiting {
			switch {
			case w.Since+int64(s.Config.HTTPQueueTimeout) <= s.Now:
				s.HTTP.Refused++
				q.Push(action.HTTPGrant{Peer: id, Ticket: w.Ticket})
			case len(kept) == 0 && p.Used < s.Config.HTTPRateLimit:
				p.Used++
				q.Push(action.HTTPGrant{Peer: id, Ticket: w.Ticket, OK: true})
			default:
				kept = append(kept, w)
			}
		}
		clear(p.Waiting[len(kept):])
		p.Waiting = kept
		// Nothing waiting and nothing granted in the current window
		// (rollWindow has cleared an old one): nothing to remember.
		if len(p.Waiting) == 0 && p.Used == 0 {
			delete(s.HTTP.Peers, id)
		}
	}
}
