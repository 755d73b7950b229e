package reducer

import (
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Gossip: GossipSub asks the state machine about every broadcast a peer
// relays before it delivers or relays it. The rule (state.GossipDecision)
// is: too large for its channel → reject, and the sender is scored; from a
// peer not admitted — unknown, closing, banned, throttled — → ignore; over
// the sender's budget → ignore, and the sender is throttled; on a channel
// with an application validator → held (within MaxPendingBytes) until the
// validator's verdict, else ignore; otherwise accept. The reducers count
// and charge by it; the effect answers GossipSub by it.

// enabledGossipReceived is always true: every broadcast needs a verdict, or
// GossipSub would wait for one.
func enabledGossipReceived(*state.State, action.GossipReceived) error { return nil }

func reduceGossipReceived(s *state.State, a action.GossipReceived, q action.Queue) {
	size := a.Len()
	p, known := s.Peers[a.Peer]
	switch d := s.GossipAdmission(a.Peer, a.Author, a.Channel, size); {
	case d == state.VerdictReject:
		if known && p.Status.Connected() && a.Channel.Valid() {
			q.Push(action.Misbehaved{Peer: a.Peer, Offence: state.OffenceOversized,
				Detail: fmt.Sprintf("broadcast of %d bytes on %s, limit %d", size, a.Channel, s.Config.Channels[a.Channel].MaxSize)})
		}
	case d == state.VerdictIgnore:
		if known && a.Channel.Valid() {
			p.Refused[a.Channel]++
			s.Channels[a.Channel].Refused++
		}
	case !takeGossip(s, p, a.Author, a.Channel, size, q):
		// Over a budget: refused; the peer or the author is throttled.
	case s.Config.Channels[a.Channel].Validated:
		g := &s.Gossip
		if g.PendingBytes+size > s.Config.MaxPendingBytes {
			p.Refused[a.Channel]++
			s.Channels[a.Channel].Refused++
			return
		}
		g.Pending[a.Msg] = state.PendingGossip{Peer: a.Peer, Channel: a.Channel, Size: size}
		g.PendingBytes += size
	default:
		p.LastRecv = s.Now
		p.Received[a.Channel]++
		s.Channels[a.Channel].Received++
	}
}

// takeGossip charges a broadcast to the budgets it uses. A peer's own
// broadcast is charged to the peer's budget on the channel. One the peer
// relays from another author is charged to the author's budget — so a
// flood stops at the first honest node, whoever relays it — and to the
// relay's, RelayBudgetFactor times larger, so that an honest relay is not
// blamed for what several others flood through it. An author over budget
// is ignored until it recovers; a peer over budget is throttled.
func takeGossip(s *state.State, p *state.Peer, author state.PeerID, ch state.Channel, size int, q action.Queue) bool {
	budget := s.Config.Channels[ch].Budget
	if author == "" || author == p.ID {
		return take(s, p, ch, size, q)
	}
	relay := budget.Times(s.Config.RelayBudgetFactor)
	au := authorOf(s, author)
	au.LastSeen = s.Now
	switch {
	case !p.Budgets[ch].Fits(s.Now, relay, size):
		throttle(s, p, ch, q)
	case !au.Budgets[ch].Fits(s.Now, budget, size):
		au.Throttled = true
		s.Counters.AuthorThrottles++
	default:
		p.Budgets[ch].Charge(s.Now, relay, size)
		au.Budgets[ch].Charge(s.Now, budget, size)
		return true
	}
	p.Refused[ch]++
	s.Channels[ch].Refused++
	return false
}

// authorOf is the budget entry of an author, made if need be; when the
// table is full the author heard from least recently is forgotten.
func authorOf(s *state.State, id state.PeerID) *state.Author {
	g := &s.Gossip
	if au, ok := g.Authors[id]; ok {
		return au
	}
	if len(g.Authors) >= s.Config.MaxGossipAuthors {
		var oldest state.PeerID
		var at int64
		for _, k := range state.SortedKeys(g.Authors) {
			if a := g.Authors[k]; oldest == "" || a.LastSeen < at {
				oldest, at = k, a.LastSeen
			}
		}
		delete(g.Authors, oldest)
	}
	au := &state.Author{LastSeen: s.Now}
	g.Authors[id] = au
	return au
}

func enabledGossipValidated(s *state.State, a action.GossipValidated) error {
	if _, ok := s.Gossip.Pending[a.Msg]; !ok {
		return fmt.Errorf("%w: message %d is not waiting for a verdict", ErrNotOutstanding, a.Msg)
	}
	if !a.Verdict.Valid() {
		return fmt.Errorf("%w: verdict %d", ErrInvalid, a.Verdict)
	}
	return nil
}

// reduceGossipValidated applies the application's verdict: accepted, the
// broadcast is delivered and relayed; rejected, its sender is scored.
func reduceGossipValidated(s *state.State, a action.GossipValidated, q action.Queue) {
	g := &s.Gossip
	m := g.Pending[a.Msg]
	delete(g.Pending, a.Msg)
	g.PendingBytes -= m.Size
	p, known := s.Peers[m.Peer]
	switch a.Verdict {
	case state.VerdictAccept:
		s.Channels[m.Channel].Received++
		if known {
			p.LastRecv = s.Now
			p.Received[m.Channel]++
		}
	case state.VerdictReject:
		s.Channels[m.Channel].Refused++
		if known && p.Status.Connected() {
			q.Push(action.Misbehaved{Peer: m.Peer, Offence: state.OffenceRejected,
				Detail: fmt.Sprintf("the %s validator rejected message %d", m.Channel, a.Msg)})
		}
	default:
		s.Channels[m.Channel].Refused++
	}
}

func enabledGossipStats(s *state.State, a action.GossipStats) error {
	if _, ok := s.Peers[a.Peer]; !ok {
		return ErrUnknownPeer
	}
	return nil
}

// reduceGossipStats counts what GossipSub refused from a peer without
// asking, and scores what only a hostile peer sends: broadcasts whose
// signatures fail, and RPCs with more subscriptions than allowed.
func reduceGossipStats(s *state.State, a action.GossipStats, q action.Queue) {
	c := &s.Counters
	c.GossipInvalid += uint64(a.Invalid)
	c.GossipDuplicates += uint64(a.Duplicates)
	c.GossipDropped += uint64(a.Dropped)
	c.GossipDroppedB += a.DroppedBytes
	p := s.Peers[a.Peer]
	if !p.Status.Connected() {
		return
	}
	if a.Invalid > 0 {
		q.Push(action.Misbehaved{Peer: a.Peer, Offence: state.OffenceMalformed,
			Detail: fmt.Sprintf("%d broadcasts with a bad or missing signature", a.Invalid)})
	} else if a.Oversized > 0 {
		q.Push(action.Misbehaved{Peer: a.Peer, Offence: state.OffenceOversized,
			Detail: fmt.Sprintf("%d GossipSub RPCs with more than %d subscriptions", a.Oversized, s.Config.MaxSubscriptionsPerRPC)})
	}
}
