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
	s.Gossip.Last = state.LastVerdict{Msg: a.Msg, Verdict: decideGossip(s, a, q)}
}

// decideGossip applies the gossip rule to a broadcast, counting and
// charging by it.
func decideGossip(s *state.State, a action.GossipReceived, q action.Queue) state.Verdict {
	size := a.Len()
	p, known := s.Peers[a.Peer]
	au := s.Gossip.Authors[a.Author]
	switch s.GossipAdmissionOf(a.Peer, p, au, a.Channel, size) {
	case state.VerdictReject:
		if known && p.Status.Connected() && s.Config.HasChannel(a.Channel) {
			q.Push(action.Misbehaved{Peer: a.Peer, Offence: state.OffenceOversized,
				Detail: fmt.Sprintf("broadcast of %d bytes on %s, limit %d", size, s.Config.ChannelName(a.Channel), s.Config.Channels[a.Channel].MaxSize)})
		}
		return state.VerdictReject
	case state.VerdictIgnore:
		if known && s.Config.HasChannel(a.Channel) {
			refuse(s, p, a.Channel)
		}
		return state.VerdictIgnore
	}
	if !takeGossip(s, p, a.Author, au, a.Channel, size) {
		return state.VerdictIgnore // its author is over budget
	}
	c := &s.Channels[a.Channel]
	total := s.Config.Channels[a.Channel].Total
	if !c.Total.Fits(s.Now, total, size) {
		refuse(s, p, a.Channel) // the channel is full from everyone: nobody's fault
		return state.VerdictIgnore
	}
	if s.Config.Channels[a.Channel].Validated {
		g := &s.Gossip
		if g.PendingBytes+size > s.Config.MaxPendingBytes {
			refuse(s, p, a.Channel)
			return state.VerdictIgnore
		}
		c.Total.Charge(s.Now, total, size)
		g.Pending[a.Msg] = state.PendingGossip{Peer: a.Peer, Channel: a.Channel, Size: size}
		g.PendingBytes += size
		return state.VerdictValidate
	}
	c.Total.Charge(s.Now, total, size)
	p.LastRecv = s.Now
	p.Received[a.Channel]++
	c.Received++
	return state.VerdictAccept
}

// refuse counts a message refused from a peer.
func refuse(s *state.State, p *state.Peer, ch state.Channel) {
	p.Refused[ch]++
	s.Channels[ch].Refused++
}

// takeGossip charges a broadcast relayed from another author to that
// author's budget, so that a flood stops at the first honest node whoever
// relays it; an author over budget is ignored until it recovers. What a
// peer sends, its own broadcasts and those it relays, is charged to the
// peer as it arrives (GossipOffered), before any check.
func takeGossip(s *state.State, p *state.Peer, author state.PeerID, au *state.Author, ch state.Channel, size int) bool {
	if author == "" || author == p.ID {
		return true
	}
	if au == nil {
		au = authorOf(s, author)
	}
	au.LastSeen = s.Now
	if au.Budgets[ch].Charge(s.Now, s.Config.Channels[ch].Budget, size) {
		return true
	}
	if !au.Throttled {
		au.Throttled = true
		s.Gossip.AuthorsThrottled = true
		s.Counters.AuthorThrottles++
	}
	refuse(s, p, ch)
	return false
}

func enabledGossipOffered(s *state.State, a action.GossipOffered) error {
	if _, ok := s.Peers[a.Peer]; !ok {
		return ErrUnknownPeer
	}
	if !s.Config.HasChannel(a.Channel) || !s.Config.Channels[a.Channel].IsBroadcast() {
		return ErrUnknownChannel
	}
	return nil
}

// reduceGossipOffered charges what a peer sent: its own broadcasts at the
// channel's budget, those it relays at RelayBudgetFactor times it (an
// honest relay passes on many authors' traffic). Over either, the peer is
// throttled: its stream is not read until it has paid the debt off.
func reduceGossipOffered(s *state.State, a action.GossipOffered, q action.Queue) {
	p := s.Peers[a.Peer]
	budget := s.Config.Channels[a.Channel].Budget
	over := false
	if a.Own > 0 {
		over = p.Budgets[a.Channel].Take(s.Now, budget, int(a.Own), int(min(a.OwnBytes, 1<<40)))
	}
	if a.Relayed > 0 {
		relay := budget.Times(s.Config.RelayBudgetFactor)
		over = p.Budgets[a.Channel].Take(s.Now, relay, int(a.Relayed), int(min(a.RelayedBytes, 1<<40))) || over
	}
	if over {
		throttle(s, p, a.Channel, q)
	}
}

// authorOf is the budget entry of an author, made if need be; when the
// table is full the author heard from least recently is forgotten.
func authorOf(s *state.State, id state.PeerID) *state.Author {
	g := &s.Gossip
	if au, ok := g.Authors[id]; ok {
		return au
	}
	if len(g.Authors) >= s.Config.MaxGossipAuthors {
		// Authors whose budgets owe nothing are forgotten first: a fresh
		// entry would be the same. A node of a large network hears from
		// more authors than it keeps, and searching for the stalest on
		// every newcomer was most of a large simulation's time. Which
		// entries go does not depend on the order they are visited in.
		for id, a := range state.Unordered(g.Authors) {
			if !a.Throttled && idle(s.Now, a.Budgets) {
				delete(g.Authors, id)
			}
		}
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
	au := state.NewAuthor(&s.Config, s.Now)
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
				Detail: fmt.Sprintf("the %s validator rejected message %d", s.Config.ChannelName(m.Channel), a.Msg)})
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
