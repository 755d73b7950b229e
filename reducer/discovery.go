package reducer

import (
	"slices"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// Discovery: bootnodes, the address book, peer exchange and keeping the
// outbound target.
//
// Peer exchange has two parts. A node asks each new outbound peer once for
// addresses (AddrListRequest, answered once per connection with at most
// MaxAddrList entries), and, when below its outbound target with nobody
// left to dial, one more peer per tick that it has not asked yet. And, as in Bitcoin, a node announces its own
// address to each new outbound peer; a node relays addresses that are new
// to it to AddrRelayFanout random peers. Without the second part the
// earliest nodes of a network, which asked the bootnode before anyone else
// had joined, would never learn of the nodes that came later.

// tickOutbound dials address-book entries until the outbound target is met:
// at most MaxDialsPerTick per tick, at most one per address group, choosing
// between the tried and new tables by coin flip as Bitcoin Core does.
// Bootnodes are dialled only when nothing else is left, and before a peer
// whose last dial got no answer (frozen, or cut off): each dial of such a
// peer can leave the place empty for a whole DialTimeout again.
func tickOutbound(s *state.State, q action.Queue) {
	need := min(s.Config.OutboundTarget-s.Counts().Outbound, s.Config.MaxDialsPerTick)
	if need <= 0 {
		return
	}
	used := s.OutboundGroups()
	tried, fresh, boot := dialCandidates(s, used)
	timedOut := func(e *state.AddrEntry) bool { return e.TimedOut }
	answered := func(e *state.AddrEntry) bool { return !e.TimedOut }
	if !slices.ContainsFunc(tried, answered) && !slices.ContainsFunc(fresh, answered) {
		askAnotherPeer(s, q)
		if len(boot) > 0 {
			tried, fresh = nil, boot
		}
	} else {
		tried, fresh = slices.DeleteFunc(tried, timedOut), slices.DeleteFunc(fresh, timedOut)
	}
	for ; need > 0 && len(tried)+len(fresh) > 0; need-- {
		e := preferCapable(s, tried, fresh)
		if e == nil {
			from := &fresh
			if len(fresh) == 0 || (len(tried) > 0 && s.RNG.Intn(2) == 0) {
				from = &tried
			}
			e = (*from)[s.RNG.Intn(len(*from))]
		}
		q.Push(action.Connect{Peer: e.ID, Addrs: slices.Clone(e.Addrs)})
		sameGroup := func(x *state.AddrEntry) bool { return x.Group == e.Group }
		tried = slices.DeleteFunc(tried, sameGroup)
		fresh = slices.DeleteFunc(fresh, sameGroup)
	}
}

// askAnotherPeer asks one ready peer for addresses, one a tick: a node
// below its outbound target with nobody left to dial has learned all its
// outbound peers and bootnodes had to say, and its inbound peers may know
// the rest of the network. A peer not asked yet comes first (chosen with
// the state RNG); when all were, the one asked longest ago, if
// that is AddrRefresh ago, and the node asked nobody again in the last
// AddrRefresh: nodes may have joined since, and nobody announces them to
// a node whose peers are all settled.
func askAnotherPeer(s *state.State, q action.Queue) {
	var unasked []state.PeerID
	var stale state.PeerID
	var staleAt int64
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		switch {
		case p.Status != state.StatusReady || p.AddrOnly:
		case !p.AddrAsked:
			unasked = append(unasked, id)
		case mayAskAgain(s, p) && (stale == "" || p.AddrAskedAt < staleAt):
			stale, staleAt = id, p.AddrAskedAt
		}
	}
	switch {
	case len(unasked) > 0:
		q.Push(action.AddrListAsk{Peer: unasked[s.RNG.Intn(len(unasked))]})
	case stale != "" && s.Now-s.Discovery.LastReask >= int64(s.Config.AddrRefresh):
		// One such request per AddrRefresh for the whole node: a small
		// network leaves every node short of peers for good, and its
		// peers must not hear from it about addresses all the time.
		s.Discovery.LastReask = s.Now
		q.Push(action.AddrListAsk{Peer: stale})
	}
}

// mayAskAgain: we asked the peer AddrRefresh ago or more (answered or
// not: a request or its answer lost on the way must not leave a node that
// knows nobody else stranded).
func mayAskAgain(s *state.State, p *state.Peer) bool {
	return s.Now-p.AddrAskedAt >= int64(s.Config.AddrRefresh)
}

// enabledAddrListAsk: a ready peer is asked once, and again only
// AddrRefresh after it answered.
func enabledAddrListAsk(s *state.State, a action.AddrListAsk) error {
	p, err := readyForExchange(s, a.Peer, "AddrListAsk")
	switch {
	case err != nil:
		return err
	case p.AddrAsked && !mayAskAgain(s, p):
		return ErrWrongStatus
	}
	return nil
}

// dialCandidates lists the book entries we could dial now, in ID order:
// not connected, not backing off, not banned, not us, and in a group no
// outbound peer uses. Bootnodes are listed apart.
func dialCandidates(s *state.State, used map[string]bool) (tried, fresh, boot []*state.AddrEntry) {
	for _, id := range state.SortedKeys(s.Discovery.Book) {
		e := s.Discovery.Book[id]
		if _, busy := s.Peers[id]; busy || e.RetryAt > s.Now || used[e.Group] ||
			s.Banned(id, e.Addrs...) || s.IsSelf(id, e.Addrs...) {
			continue
		}
		switch {
		case e.Boot:
			boot = append(boot, e)
		case e.Tried:
			tried = append(tried, e)
		default:
			fresh = append(fresh, e)
		}
	}
	return tried, fresh, boot
}

// tickBootnodes releases a bootnode once it has served its purpose: it
// answered our AddrListRequest and the book now offers another peer to dial
// in its place. Bootnodes that everyone keeps would end up with every slot
// full of inbound peers and none of their own outbound peers, and would cap
// the network at their inbound limit; like Bitcoin's seed connections, ours
// are for bootstrapping. A node that knows no one else keeps its bootnode,
// and so does one whose only other candidates failed their last two dials
// or more, or whose last dial got no answer at all: a peer that crashed,
// froze or is cut off stays in the book, and releasing a working bootnode
// for it would leave the node a peer short each time its backoff ends.
// (One refusal is not enough to pass a peer over: a full peer turns a dial
// away once and takes the next.)
func tickBootnodes(s *state.State, q action.Queue) {
	// Only a node whose outbound places are all taken hands a bootnode's
	// place over: otherwise the candidate is needed for a free place, and
	// dropping the bootnode would leave the node a peer short.
	if s.Counts().Outbound < s.Config.OutboundTarget {
		return
	}
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		e, known := s.Discovery.Book[id]
		if !known || !e.Boot || !p.Outbound() || p.Status != state.StatusReady || !p.AddrReceived {
			continue
		}
		used := s.OutboundGroups()
		delete(used, p.Group)
		tried, fresh, _ := dialCandidates(s, used)
		if slices.ContainsFunc(tried, unfailed) || slices.ContainsFunc(fresh, unfailed) {
			q.Push(action.Disconnect{Peer: id, Reason: state.ReasonBootstrapDone})
			return // one at a time: the next tick refills the place
		}
	}
}

// unfailed: the entry's last two dials did not both fail, and the last
// one, if it failed, got an answer.
func unfailed(e *state.AddrEntry) bool { return e.Failures < 2 && !e.TimedOut }

// learn adds a peer heard of to the new table and reports whether it was
// new to us. Invalid addresses are skipped; a known peer only has its
// LastSeen refreshed, and its addresses are replaced (if it is not tried)
// only on first-hand word: the peer announcing itself, or its handshake
// (source ""). Otherwise any peer could point our next dial of someone
// else at an address of its choosing.
func learn(s *state.State, pa state.PeerAddr, source state.PeerID) bool {
	if !message.CanonicalPeerID(s.Config.IDs, string(pa.ID)) {
		return false
	}
	if e, ok := s.Discovery.Book[pa.ID]; ok && slices.Equal(e.Addrs, pa.Addrs) {
		// Heard again as we know it: its addresses were checked when it
		// was learned (parsing them is the dearest part of peer exchange
		// in a large network, where every node hears of every other many
		// times).
		e.LastSeen = s.Now
		return false
	}
	var addrs []state.Addr
	for _, a := range pa.Addrs {
		if len(addrs) < s.Config.MaxAddrsPerPeer && message.ValidAddr(string(a)) && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 || s.IsSelf(pa.ID, addrs...) {
		return false
	}
	if e, ok := s.Discovery.Book[pa.ID]; ok {
		e.LastSeen = s.Now
		firstHand := source == "" || source == pa.ID
		if firstHand && !e.Tried && !e.Boot && !slices.Equal(e.Addrs, addrs) {
			// A peer may move; follow it if its new group has room.
			moved := *e
			moved.Addrs, moved.Group = addrs, state.AddrGroup(addrs[0])
			if moved.Group == e.Group || s.Discovery.NewGroups[moved.Group] < s.Config.AddrBookPerGroup {
				s.BookPut(&moved)
			}
		}
		return false
	}
	group := state.AddrGroup(addrs[0])
	if !makeRoom(s, false, group) {
		return false
	}
	s.BookPut(&state.AddrEntry{
		ID: pa.ID, Addrs: addrs, Group: group, Source: source,
		AddedAt: s.Now, LastSeen: s.Now,
	})
	return true
}

// makeRoom frees a place for one more entry of group in a table by
// evicting the stalest entry of that group, or of the table, when either is
// full. Bootnodes are never evicted. It reports whether there is room.
func makeRoom(s *state.State, tried bool, group string) bool {
	d, cfg := &s.Discovery, &s.Config
	groups, count, limit := d.NewGroups, d.NewCount, cfg.AddrBookNew
	if tried {
		groups, count, limit = d.TriedGroups, d.TriedCount, cfg.AddrBookTried
	}
	if groups[group] >= cfg.AddrBookPerGroup {
		if !evictStalest(s, tried, group) {
			return false
		}
		count--
	}
	if count >= limit {
		return evictStalest(s, tried, "")
	}
	return true
}

// evictStalest removes the entry of a table (and of group, if given) seen
// or used longest ago; ties go to the smaller ID. The smallest (age, ID)
// is the same whatever order the book is walked in, so it is walked
// unsorted: a full book evicts on every address it learns, and sorting it
// each time made peer exchange in a large network quadratic.
func evictStalest(s *state.State, tried bool, group string) bool {
	var victim *state.AddrEntry
	age := func(e *state.AddrEntry) int64 {
		if tried {
			return e.LastSuccess
		}
		return e.LastSeen
	}
	for id, e := range state.Unordered(s.Discovery.Book) {
		if e.Tried != tried || e.Boot || (group != "" && e.Group != group) {
			continue
		}
		if victim == nil || age(e) < age(victim) || (age(e) == age(victim) && id < victim.ID) {
			victim = e
		}
	}
	if victim == nil {
		return false
	}
	s.BookDelete(victim.ID)
	return true
}

// markTried records a completed handshake with an outbound peer: its entry
// moves to the tried table and its failures are forgotten.
func markTried(s *state.State, p *state.Peer) {
	e, ok := s.Discovery.Book[p.ID]
	if !ok {
		addrs := p.Dialled
		if len(addrs) == 0 {
			addrs = []state.Addr{p.Addr}
		}
		if !learn(s, state.PeerAddr{ID: p.ID, Addrs: addrs}, "") {
			return
		}
		e = s.Discovery.Book[p.ID]
	}
	e.LastSuccess, e.LastSeen, e.Failures, e.RetryAt, e.TimedOut = s.Now, s.Now, 0, 0, false
	if !e.Tried && (e.Boot || makeRoom(s, true, e.Group)) {
		s.BookMove(e, true)
	}
	s.Discovery.Dirty = true
}

func enabledAddrListRequestReceived(s *state.State, a action.AddrListRequestReceived) error {
	p, err := readyForExchange(s, a.Peer, "AddrListRequest")
	switch {
	case err != nil:
		return err
	case p.AddrAnswered && s.Now-p.AddrAnsweredAt < int64(s.Config.AddrRefresh)/2:
		// The asker waits AddrRefresh after its last ask; half of it here
		// leaves room for the latencies between our clocks' readings.
		return violation("a second AddrListRequest")
	}
	return nil
}

// reduceAddrListRequestReceived answers once with a random sample of the
// book, drawn from the state RNG; a peer admitted only for addresses is
// then let go.
func reduceAddrListRequestReceived(s *state.State, a action.AddrListRequestReceived, q action.Queue) {
	p := s.Peers[a.Peer]
	p.AddrAnswered, p.AddrAnsweredAt = true, s.Now
	if p.AddrOnly {
		defer q.Push(action.Disconnect{Peer: a.Peer, Reason: state.ReasonTooManyPeers})
	}
	var pool []state.PeerAddr
	for _, id := range state.SortedKeys(s.Discovery.Book) {
		e := s.Discovery.Book[id]
		if id == a.Peer || s.Banned(id, e.Addrs...) {
			continue
		}
		addrs := e.Addrs // checked when learned, at most MaxAddrsPerPeer
		if e.Boot {
			addrs = message.Sendable(e.Addrs) // configured: may be more
		}
		pool = append(pool, state.PeerAddr{ID: id, Addrs: addrs})
	}
	// A random sample, as large as the list limits and the control
	// channel's message size allow: an answer over that size would get us
	// scored as oversized by the peer that asked.
	n := min(len(pool), s.Config.MaxAddrList, message.MaxAddrList)
	room := s.Config.Channels[state.ChannelControl].MaxSize - 16
	for i := 0; i < n; i++ {
		j := i + s.RNG.Intn(len(pool)-i)
		pool[i], pool[j] = pool[j], pool[i]
		if room -= message.PeerAddrSize(pool[i]); room < 0 {
			n = i
		}
	}
	q.Push(action.AddrListSend{Peer: a.Peer, Peers: pool[:n]})
}

func enabledAddrListResponseReceived(s *state.State, a action.AddrListResponseReceived) error {
	p, err := readyForExchange(s, a.Peer, "AddrListResponse")
	if err != nil {
		return err
	}
	if !p.AddrAsked || p.AddrReceived {
		return unsolicited("AddrListResponse nobody asked for")
	}
	return nil
}

func reduceAddrListResponseReceived(s *state.State, a action.AddrListResponseReceived) {
	s.Peers[a.Peer].AddrReceived = true
	for i, pa := range a.Peers {
		if i >= s.Config.MaxAddrList {
			break
		}
		learn(s, pa, a.Peer)
	}
}

func enabledAddrAnnounceReceived(s *state.State, a action.AddrAnnounceReceived) error {
	_, err := readyForExchange(s, a.Peer, "AddrAnnounce")
	return err
}

// reduceAddrAnnounceReceived learns announced addresses and relays the ones
// that were new to us, plus a peer's first announcement of itself, to a
// few random ready peers.
func reduceAddrAnnounceReceived(s *state.State, a action.AddrAnnounceReceived, q action.Queue) {
	src := s.Peers[a.Peer]
	var relay []state.PeerAddr
	for i, pa := range a.Peers {
		if i >= min(s.Config.MaxAddrAnnounce, message.MaxAnnounce) {
			break
		}
		firstHand := pa.ID == a.Peer && !src.Announced
		if firstHand {
			src.Announced = true
		} else if !takeAddrToken(s, src) {
			s.Counters.Dropped["AddrAnnounce over rate"]++
			continue
		}
		added := learn(s, pa, a.Peer)
		if added || firstHand {
			relay = append(relay, state.PeerAddr{ID: pa.ID, Addrs: slices.Clone(pa.Addrs)})
		}
	}
	if len(relay) == 0 {
		return
	}
	var targets []state.PeerID
	for _, id := range s.ReadyPeers() {
		if id != a.Peer && !s.Peers[id].AddrOnly && !slices.ContainsFunc(relay, func(pa state.PeerAddr) bool { return pa.ID == id }) {
			targets = append(targets, id)
		}
	}
	for i := 0; i < s.Config.AddrRelayFanout && len(targets) > 0; i++ {
		j := s.RNG.Intn(len(targets))
		q.Push(action.AddrAnnounceSend{Peer: targets[j], Peers: relay})
		targets = slices.Delete(targets, j, j+1)
	}
}

// Announced addresses are rate limited per peer, as in Bitcoin Core: one
// every addrInterval on average, in bursts of up to addrBurst. Beyond that
// they are ignored, not punished: an honest peer relaying a busy moment
// may exceed it, but no peer can churn our address book, or make us relay
// its addresses, faster than that.
const (
	addrInterval = int64(10 * time.Second)
	addrBurst    = message.MaxAnnounce
)

// takeAddrToken spends one of the peer's announcement tokens. AddrRateAt
// is when the peer's budget is next due (a generic cell rate algorithm:
// one integer, no floats).
func takeAddrToken(s *state.State, p *state.Peer) bool {
	due := max(p.AddrRateAt, s.Now-addrBurst*addrInterval)
	if due > s.Now-addrInterval {
		return false
	}
	p.AddrRateAt = due + addrInterval
	return true
}

// readyForExchange is the shared enabling rule of peer-exchange messages:
// they are a protocol violation before the handshake.
func readyForExchange(s *state.State, id state.PeerID, what string) (*state.Peer, error) {
	p, ok := s.Peers[id]
	switch {
	case !ok:
		return nil, ErrUnknownPeer
	case p.Status == state.StatusHandshaking:
		return p, violation(what + " before the handshake")
	case p.Status != state.StatusReady:
		return p, ErrNotReady
	}
	return p, nil
}

func reducePeersDiscovered(s *state.State, a action.PeersDiscovered) {
	for _, pa := range a.Peers {
		learn(s, pa, "")
	}
}

// reducePeerStoreLoaded restores a saved book and bans. Saved entries keep
// their history (failures, backoff); limits still apply, and bans that have
// expired are dropped.
func reducePeerStoreLoaded(s *state.State, a action.PeerStoreLoaded) {
	for _, saved := range a.Store.Entries {
		if !learn(s, state.PeerAddr{ID: saved.ID, Addrs: saved.Addrs}, saved.Source) {
			if _, known := s.Discovery.Book[saved.ID]; !known {
				continue
			}
		}
		e := s.Discovery.Book[saved.ID]
		e.AddedAt, e.LastSeen = saved.AddedAt, saved.LastSeen
		e.LastAttempt, e.LastSuccess = saved.LastAttempt, saved.LastSuccess
		// A saved store does not say how the last failure ended: as
		// after a restart, a peer gets the benefit of the doubt.
		e.Failures, e.RetryAt, e.TimedOut = max(saved.Failures, 0), saved.RetryAt, false
		for _, c := range saved.Caps {
			if state.ValidCapability(c) && e.AddCapability(c) {
				s.Discovery.Dirty = true
			}
		}
		if saved.Tried && !e.Tried && (e.Boot || makeRoom(s, true, e.Group)) {
			s.BookMove(e, true)
		}
	}
	for _, b := range a.Store.Bans {
		if b.Target != "" && b.Ban.Until > s.Now {
			s.Bans[b.Target] = b.Ban
		}
	}
	s.Discovery.Dirty = false
	s.Discovery.LastSave = s.Now
}

func reduceSavePeerStore(s *state.State) {
	s.Discovery.Dirty = false
	s.Discovery.LastSave = s.Now
}

// tickSave persists a changed book every SaveInterval.
func tickSave(s *state.State, q action.Queue) {
	if s.Discovery.Dirty && s.Now-s.Discovery.LastSave >= int64(s.Config.SaveInterval) {
		q.Push(action.SavePeerStore{})
	}
}
