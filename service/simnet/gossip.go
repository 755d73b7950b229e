package simnet

import (
	"slices"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// GossipConfig shapes the simulated GossipSub: each node keeps, per
// channel, a mesh of D peers (between Dlo and Dhi) that it relays
// accepted broadcasts to, and tells Dlazy other peers which messages it has
// (IHAVE) so that a message the mesh lost can be fetched (IWANT). A
// publisher sends its own message to every peer (flood publishing, as the
// node's GossipSub is configured). The zero value means go-libp2p-pubsub's
// defaults.
type GossipConfig struct {
	D, Dlo, Dhi, Dlazy int
	// Heartbeat is the period of mesh upkeep and lazy gossip (1 s).
	Heartbeat time.Duration
	// HistoryGossip is how many heartbeats of message IDs an IHAVE offers
	// (3); HistoryLength how many the message cache keeps for IWANT (5).
	HistoryGossip, HistoryLength int
	// SeenTTL is how long a message ID is remembered to drop duplicates
	// (2 min); the seen-cache is pruned as it ages.
	SeenTTL time.Duration
	// PruneBackoff is how long a pruned peer is not grafted again (1 min).
	PruneBackoff time.Duration
	// Flood relays every accepted message to every peer instead of the
	// mesh (the simulator's model before the mesh; kept for comparison).
	Flood bool
}

func (g *GossipConfig) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&g.D, 6)
	def(&g.Dlo, 5)
	def(&g.Dhi, 12)
	def(&g.Dlazy, 6)
	def(&g.HistoryGossip, 3)
	def(&g.HistoryLength, 5)
	if g.Heartbeat == 0 {
		g.Heartbeat = time.Second
	}
	if g.SeenTTL == 0 {
		g.SeenTTL = 2 * time.Minute
	}
	if g.PruneBackoff == 0 {
		g.PruneBackoff = time.Minute
	}
}

// GossipStats counts the simulated GossipSub's traffic over the whole
// network.
type GossipStats struct {
	// Arrivals counts broadcast copies that reached a node, First those
	// that were the first copy the node saw: Arrivals/First is the
	// amplification.
	Arrivals, First uint64
	// Control messages sent.
	Graft, Prune, IHave, IWant uint64
	// Fetched counts messages sent in answer to an IWANT.
	Fetched uint64
}

// Amplification is the copies of a broadcast a node receives for each one
// it needs.
func (g GossipStats) Amplification() float64 {
	if g.First == 0 {
		return 0
	}
	return float64(g.Arrivals) / float64(g.First)
}

// gossipMsg is one broadcast as it travels: allocated once by its
// publisher and shared by every copy.
type gossipMsg struct {
	id     uint64
	at     int64 // when it was published
	author state.PeerID
	// from is the author's endpoint.
	from *Endpoint
	ch   state.Channel
	data []byte
	// fate, if the simulation tracks the message, accounts for its copies.
	fate *Fate
	// seenBy has a bit set, by node index, for each node whose seen-cache
	// holds the message. Whether a peer has a message is asked for every
	// copy sent and received, and the message is in the processor's cache
	// while it spreads, where the nodes' own structures are not. seen
	// counts the bits set, copies the copies travelling.
	seenBy []uint64
	seen   int
	copies int
}

// seenAt reports whether node i has seen m (within SeenTTL).
func (m *gossipMsg) seenAt(i int32) bool {
	w := int(i / 64)
	return w < len(m.seenBy) && m.seenBy[w]&(1<<(i%64)) != 0
}

// setSeen records that node i's seen-cache holds m now, or (on false)
// no longer does.
func (m *gossipMsg) setSeen(i int32, on bool) {
	w, bit := int(i/64), uint64(1)<<(i%64)
	if w >= len(m.seenBy) {
		if !on {
			return
		}
		m.seenBy = append(m.seenBy, make([]uint64, w+1-len(m.seenBy))...)
	}
	switch was := m.seenBy[w]&bit != 0; {
	case on && !was:
		m.seenBy[w] |= bit
		m.seen++
	case !on && was:
		m.seenBy[w] &^= bit
		m.seen--
	}
}

// peerLink is a connected peer and the link to it, as the peer lists and
// meshes hold them: relaying a broadcast needs no lookup of the link, and
// reads the link only for a copy it schedules. side is our side of l, node
// the peer's index; up is l.alive[side], kept in step by resync whenever
// that changes.
type peerLink struct {
	ep   *Endpoint
	l    *link
	node int32
	side uint8
	up   bool
}

// entry is the peerLink for peer over l.
func (ep *Endpoint) entry(peer *Endpoint, l *link) peerLink {
	s := l.side(ep)
	return peerLink{ep: peer, l: l, node: l.node[1-s], side: uint8(s), up: l.alive[s]}
}

// eachEntry calls fn with every entry of the peer list and the meshes.
func (ep *Endpoint) eachEntry(fn func(e *peerLink)) {
	for i := range ep.peers {
		fn(&ep.peers[i])
	}
	for _, t := range ep.g.topics {
		if t != nil {
			for i := range t.mesh {
				fn(&t.mesh[i])
			}
		}
	}
}

// resync brings the entries over l up to date with our side's view of it.
func (ep *Endpoint) resync(l *link) {
	ep.net.changed()
	ep.eachEntry(func(e *peerLink) {
		if e.l == l {
			e.up = l.alive[e.side]
		}
	})
}

// hasPeer reports whether ps holds ep.
func hasPeer(ps []peerLink, ep *Endpoint) bool {
	for _, p := range ps {
		if p.ep == ep {
			return true
		}
	}
	return false
}

// topic is one node's view of one broadcast channel. Topics are cut from
// slabs (Network.newTopic), each on cache lines of its own: every
// delivery reads the mesh and appends to recent.
type topic struct {
	mesh []peerLink
	// recent and older are the message cache: recent holds the IDs
	// accepted since the last heartbeat, older[k] those of k+1
	// heartbeats ago (HistoryLength in all).
	recent []uint64
	older  [][]uint64
	// backoff holds the time until which a peer that pruned us, or that
	// we pruned, is not grafted.
	backoff map[state.PeerID]int64
	_       [48]byte // to 128 bytes
}

// gossipNode is one endpoint's GossipSub state.
type gossipNode struct {
	// meshed has bit ch set while the node's mesh for channel ch has a
	// peer (see Meshed). It comes first, beside the endpoint's down and
	// silent flags, which the report reads with it for every node and
	// broadcast.
	meshed uint64
	// The seen-cache remembers message IDs until SeenTTL after first
	// sight. Whether the node has seen a message is kept in the message
	// (gossipMsg.seenBy), where every copy sent or received asks; seenQ
	// holds the IDs in the order seen, so that pruning pops from its
	// front. IDs below seenBase are older than anything the cache holds:
	// the cache is, in effect, a bitmap of 64-ID words from seenBase to
	// seenEnd, grown as IDs come and dropped from the front, empty word by
	// empty word, as they are forgotten. (A map of the IDs was a fifth of
	// a large simulation's time; a bitmap per node, a cache miss on every
	// delivery.)
	seenBase, seenEnd uint64
	seenQ             []seenAt
	topics            [state.MaxChannels]*topic
}

type seenAt struct {
	id uint64
	at int64
}

func newGossipNode() gossipNode {
	return gossipNode{}
}

// topic returns the node's view of ch, joining it on first use.
func (ep *Endpoint) topic(ch state.Channel) *topic {
	t := ep.g.topics[ch]
	if t == nil {
		t = ep.net.newTopic()
		t.backoff, t.older = map[state.PeerID]int64{}, make([][]uint64, ep.net.gossip.HistoryLength-1)
		ep.g.topics[ch] = t
	}
	return t
}

// markSeen records m in the seen-cache; it reports false if it was
// already seen, or is older than anything the seen-cache still holds (no
// copy of a message outlives the message cache's few heartbeats, let
// alone SeenTTL).
func (ep *Endpoint) markSeen(m *gossipMsg) bool {
	g := &ep.g
	if m.id < g.seenBase || m.seenAt(ep.idx) {
		return false
	}
	if m.id >= g.seenEnd {
		g.seenEnd = g.seenBase + (m.id-g.seenBase)/64*64 + 64
	}
	m.setSeen(ep.idx, true)
	g.seenQ = append(g.seenQ, seenAt{id: m.id, at: ep.net.now})
	return true
}

// seenHas reports whether id is in the seen-cache.
func (ep *Endpoint) seenHas(id uint64) bool {
	if id < ep.g.seenBase {
		return false
	}
	m := ep.net.kept(id)
	return m != nil && m.seenAt(ep.idx)
}

// forgetSeen drops the IDs seen more than ttl ago, and moves seenBase past
// the words below the oldest ID left that hold none.
func (ep *Endpoint) forgetSeen(now, ttl int64) {
	g := &ep.g
	q := g.seenQ
	i := 0
	for ; i < len(q) && q[i].at+ttl <= now; i++ {
		if m := ep.net.kept(q[i].id); m != nil {
			m.setSeen(ep.idx, false)
		}
	}
	if i == 0 {
		return
	}
	g.seenQ = append(q[:0], q[i:]...)
	for g.seenBase < g.seenEnd && (len(g.seenQ) == 0 || g.seenBase+64 <= g.seenQ[0].id) && ep.noneSeen(g.seenBase) {
		g.seenBase += 64
	}
}

// noneSeen reports whether the seen-cache holds none of the 64 IDs from
// base.
func (ep *Endpoint) noneSeen(base uint64) bool {
	for id := base; id < base+64; id++ {
		if m := ep.net.kept(id); m != nil && m.seenAt(ep.idx) {
			return false
		}
	}
	return true
}

// remember puts an accepted or published message in the message cache.
func (ep *Endpoint) remember(m *gossipMsg) {
	t := ep.topic(m.ch)
	t.recent = append(t.recent, m.id)
}

// cached reports whether the node's message cache still holds id.
func (t *topic) cached(id uint64) bool {
	if slices.Contains(t.recent, id) {
		return true
	}
	for _, h := range t.older {
		if slices.Contains(h, id) {
			return true
		}
	}
	return false
}

// relay sends m to the peers GossipSub would: every peer for our own
// message (flood publishing), the mesh otherwise; never back to the peer
// it came from or to its author.
func (ep *Endpoint) relay(m *gossipMsg, from *Endpoint, publish bool) {
	peers := ep.peers
	if !publish && !ep.net.gossip.Flood {
		peers = ep.topic(m.ch).mesh
	}
	for _, to := range peers {
		if to.ep != from && !ep.net.isAuthor(to.ep, m) {
			ep.sendGossip(to, m)
		}
	}
}

// isAuthor reports whether ep is m's author (ep.ID == m.author); unless
// two endpoints share an ID, its endpoint is the only one with its ID.
func (n *Network) isAuthor(ep *Endpoint, m *gossipMsg) bool {
	if !n.sharedIDs {
		return ep == m.from
	}
	return ep.ID == m.author
}

// sendGossip transmits one copy of m to a connected peer.
func (ep *Endpoint) sendGossip(to peerLink, m *gossipMsg) {
	if !to.up {
		return
	}
	n := ep.net
	if i := to.node; m.seenAt(i) && !n.quiet[i] && n.reachable(ep, to.ep) {
		// The peer has the message already, so this copy can only be
		// dropped as a duplicate when it arrives: it is counted, and
		// neither drawn nor scheduled (most copies are such).
		n.gstats.Arrivals++
		return
	}
	if !n.reachable(ep, to.ep) {
		m.fate.drop(DropPartition)
		return
	}
	if n.lost() {
		m.fate.drop(DropLoss)
		return
	}
	l, s := to.l, int(to.side)
	if l.stalled[1-s] {
		// The connection gave up after MaxRetransmits losses in a row:
		// nothing crosses it any more (transmit).
		m.fate.drop(DropLoss)
		return
	}
	if l.held != nil && len(l.held[1-s]) > 0 {
		// The connection still holds what a cut kept back (hold): a copy
		// sent now would overtake it. It is lost to the cut.
		m.fate.drop(DropPartition)
		return
	}
	at := l.arrival(n, 1-s)
	m.copies++
	if m.fate != nil {
		m.fate.InFlight++
	}
	// A typed event rather than a closure: copies are most of a large
	// simulation's events, and a closure is an allocation each.
	n.seq++
	n.events.push(event{at: at, copy: copyOf{l: l, m: m, to: uint8(1 - s)}}, n.seq)
}

// copyOf is a copy of a broadcast on its way to side `to` of link l.
type copyOf struct {
	l  *link
	m  *gossipMsg
	to uint8
}

// arrive delivers the copy, unless its connection closed on the way: a
// message seen before is dropped, a new one is handed to the node
// (GossipReceived) and relayed only once the node accepts it. A duplicate
// is known from the message's mirror of the seen-caches, without reading
// the node's own.
func (c copyOf) arrive(n *Network) {
	m, l := c.m, c.l
	m.copies--
	if m.fate != nil {
		m.fate.InFlight--
	}
	if !l.alive[c.to] {
		m.fate.drop(DropClosed)
		return
	}
	i := l.node[c.to]
	if n.quiet[i] {
		m.fate.drop(DropCrash)
		return
	}
	n.gstats.Arrivals++
	if m.seenAt(i) {
		return
	}
	ep := l.ends[c.to]
	if !ep.markSeen(m) {
		return
	}
	n.gstats.First++
	ep.warm(m)
	ep.gossip(l.ends[1-c.to], n.peerID[l.node[1-c.to]], m)
}

// warm reads what relaying m will read, the topic, its mesh and the mesh's
// links, before the node is handed m: the processor then fetches them from
// memory while the node's store decides on m, whose own reads miss the
// cache as much, rather than after. It changes nothing (the sum only keeps
// the reads from being optimised away).
func (ep *Endpoint) warm(m *gossipMsg) {
	t := ep.g.topics[m.ch]
	if t == nil {
		return
	}
	sum := int64(len(t.recent))
	for _, p := range t.mesh {
		sum += p.l.last[0]
	}
	ep.net.sink += sum
}

// heartbeat keeps each mesh between Dlo and Dhi, offers recent messages to
// peers outside the mesh, shifts the message cache and ages the
// seen-cache; all choices are drawn from the network's seed.
func (ep *Endpoint) heartbeat() {
	n := ep.net
	g := &n.gossip
	if ep.down || ep.silent {
		return
	}
	for ch, t := range ep.g.topics {
		if t == nil {
			continue
		}
		if len(t.mesh) < g.Dlo {
			var cand []peerLink
			for _, p := range ep.peers {
				if !hasPeer(t.mesh, p.ep) && t.backoff[p.ep.ID] <= n.now {
					cand = append(cand, p)
				}
			}
			shuffle(n, cand)
			for _, p := range cand[:min(len(cand), g.D-len(t.mesh))] {
				t.mesh = append(t.mesh, p)
				n.changed()
				ep.control(p.ep, func(to *Endpoint) { to.grafted(ep, state.Channel(ch)) })
				n.gstats.Graft++
			}
		}
		if len(t.mesh) > g.Dhi {
			shuffle(n, t.mesh)
			for _, p := range t.mesh[g.D:] {
				t.backoff[p.ep.ID] = n.now + int64(g.PruneBackoff)
				ep.control(p.ep, func(to *Endpoint) { to.pruned(ep, state.Channel(ch)) })
				n.gstats.Prune++
			}
			t.mesh = slices.Clone(t.mesh[:g.D])
			n.changed()
		}
		ep.noteMesh(state.Channel(ch), t)
		ep.offer(state.Channel(ch), t)
		last := t.recent
		if k := len(t.older); k > 0 {
			last = t.older[k-1]
			copy(t.older[1:], t.older[:k-1])
			t.older[0] = t.recent
		}
		t.recent = last[:0]
		for id, until := range t.backoff {
			if until <= n.now {
				delete(t.backoff, id) // order does not matter: deletions only
			}
		}
	}
	ep.forgetSeen(n.now, int64(g.SeenTTL))
}

// offer sends an IHAVE with the IDs of the last HistoryGossip heartbeats
// to Dlazy peers outside the mesh.
func (ep *Endpoint) offer(ch state.Channel, t *topic) {
	n := ep.net
	var hist [][]uint64
	if k := n.gossip.HistoryGossip; k > 0 {
		hist = append(append(hist, t.recent), t.older[:k-1]...)
	}
	size := 0
	for _, h := range hist {
		size += len(h)
	}
	if size == 0 {
		return
	}
	ids := make([]uint64, 0, size)
	for _, h := range hist {
		ids = append(ids, h...)
	}
	var cand []*Endpoint
	for _, p := range ep.peers {
		if !hasPeer(t.mesh, p.ep) {
			cand = append(cand, p.ep)
		}
	}
	shuffle(n, cand)
	for _, p := range cand[:min(len(cand), n.gossip.Dlazy)] {
		n.gstats.IHave++
		ep.control(p, func(to *Endpoint) { to.ihave(ep, ids) })
	}
}

// grafted is a peer adding us to its mesh: GossipSub adds it to ours
// unless we pruned it recently (it is then pruned again).
func (ep *Endpoint) grafted(from *Endpoint, ch state.Channel) {
	l := ep.linkTo[from]
	if ep.down || ep.silent || l == nil {
		return
	}
	t := ep.topic(ch)
	if t.backoff[from.ID] > ep.net.now {
		ep.net.gstats.Prune++
		ep.control(from, func(to *Endpoint) { to.pruned(ep, ch) })
		return
	}
	if !hasPeer(t.mesh, from) {
		t.mesh = append(t.mesh, ep.entry(from, l))
		ep.net.changed()
		ep.noteMesh(ch, t)
	}
}

// pruned is a peer dropping us from its mesh.
func (ep *Endpoint) pruned(from *Endpoint, ch state.Channel) {
	if ep.down || ep.silent {
		return
	}
	t := ep.topic(ch)
	t.mesh = slices.DeleteFunc(t.mesh, func(p peerLink) bool { return p.ep == from })
	ep.net.changed()
	ep.noteMesh(ch, t)
	t.backoff[from.ID] = ep.net.now + int64(ep.net.gossip.PruneBackoff)
}

// ihave asks for the offered messages we have not seen.
func (ep *Endpoint) ihave(from *Endpoint, ids []uint64) {
	if ep.down || ep.silent {
		return
	}
	var want []uint64
	for _, id := range ids {
		if !ep.seenHas(id) {
			want = append(want, id)
		}
	}
	if len(want) > 0 {
		ep.net.gstats.IWant++
		ep.control(from, func(to *Endpoint) { to.iwant(ep, want) })
	}
}

// iwant answers with the asked messages still in the message cache.
func (ep *Endpoint) iwant(from *Endpoint, ids []uint64) {
	if ep.down || ep.silent {
		return
	}
	for _, id := range ids {
		if m := ep.net.message(id); m != nil && ep.topic(m.ch).cached(id) {
			ep.net.gstats.Fetched++
			if l := ep.linkTo[from]; l != nil {
				ep.sendGossip(ep.entry(from, l), m)
			}
		}
	}
}

// control sends a gossip control message to a connected peer, in order
// with the rest of the connection's traffic.
func (ep *Endpoint) control(to *Endpoint, fn func(to *Endpoint)) {
	if l := ep.linkTo[to]; l != nil && l.alive[l.side(ep)] {
		ep.transmit(l, fn)
	}
}

// Seen reports whether the node has seen broadcast id (within SeenTTL).
func (ep *Endpoint) Seen(id uint64) bool { return ep.seenHas(id) }

// Holding reports whether the node holds broadcast id for its verdict.
func (ep *Endpoint) Holding(id uint64) bool {
	_, ok := ep.inHand(id)
	return ok
}

// leaveMeshes forgets a peer whose connection is gone.
func (ep *Endpoint) leaveMeshes(peer *Endpoint) {
	for ch, t := range ep.g.topics {
		if t != nil {
			t.mesh = slices.DeleteFunc(t.mesh, func(p peerLink) bool { return p.ep == peer })
			ep.net.changed()
			ep.noteMesh(state.Channel(ch), t)
		}
	}
}

// noteMesh keeps bit ch of meshed in step with t's mesh.
func (ep *Endpoint) noteMesh(ch state.Channel, t *topic) {
	if len(t.mesh) > 0 {
		ep.g.meshed |= 1 << ch
	} else {
		ep.g.meshed &^= 1 << ch
	}
}

// Meshed reports whether the node has a peer in its mesh for ch: whether
// it has joined the channel's broadcast network. A node not yet grafted
// hears of a broadcast only from the publisher itself or by lazy gossip,
// which GossipSub keeps up for a few heartbeats, so a broadcast made
// while a node was still joining may never reach it.
func (ep *Endpoint) Meshed(ch state.Channel) bool { return ep.g.meshed&(1<<ch) != 0 }

// shuffle permutes s with the network's RNG.
func shuffle[T any](n *Network, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := n.rng.Intn(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// The network keeps the broadcasts of the last few heartbeats by ID, in
// publishing order, for nodes to answer IWANTs from; each node's message
// cache is only the IDs in its topics' history. (A map per node of the
// messages it cached cost an insertion and a deletion for every delivery.)

// publish registers m, numbered next, and forgets the messages older than
// any node's message cache.
func (n *Network) publish(m *gossipMsg) {
	n.msgSeq++
	m.id, m.at = n.msgSeq, n.now
	m.seenBy = make([]uint64, (len(n.nodes)+63)/64)
	if len(n.msgs) == 0 {
		n.msgBase = m.id
	}
	n.msgs = append(n.msgs, m)
	keep := int64(n.gossip.HistoryLength+1) * int64(n.gossip.Heartbeat)
	i := 0
	for i < len(n.msgs)-1 && n.msgs[i].at+keep < n.now {
		n.msgs[i] = nil
		i++
	}
	n.msgs, n.msgBase = n.msgs[i:], n.msgBase+uint64(i)
	// The messages a seen-cache may still hold are kept by ID: until no
	// node's cache holds them, no copy of them travels and no IWANT can be
	// answered with them (after which none can come to hold them).
	if len(n.seenMsgs) == 0 {
		n.seenBase = m.id
	}
	n.seenMsgs = append(n.seenMsgs, m)
	i = 0
	for i < len(n.seenMsgs) {
		o := n.seenMsgs[i]
		if o.seen > 0 || o.copies > 0 || o.id >= n.msgBase {
			break
		}
		n.seenMsgs[i] = nil
		i++
	}
	n.seenMsgs, n.seenBase = n.seenMsgs[i:], n.seenBase+uint64(i)
}

// kept returns broadcast id if a node's seen-cache may hold it; a
// broadcast not kept is in none.
func (n *Network) kept(id uint64) *gossipMsg {
	if id < n.seenBase || id-n.seenBase >= uint64(len(n.seenMsgs)) {
		return nil
	}
	return n.seenMsgs[id-n.seenBase]
}

// message returns broadcast id if it is recent enough to be cached.
func (n *Network) message(id uint64) *gossipMsg {
	if id < n.msgBase || id-n.msgBase >= uint64(len(n.msgs)) {
		return nil
	}
	return n.msgs[id-n.msgBase]
}
