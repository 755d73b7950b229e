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
	ch     state.Channel
	data   []byte
	// fate, if the simulation tracks the message, accounts for its copies.
	fate *Fate
}

// topic is one node's view of one broadcast channel.
type topic struct {
	mesh []*Endpoint
	// backoff holds the time until which a peer that pruned us, or that
	// we pruned, is not grafted.
	backoff map[state.PeerID]int64
	// history is the message cache: history[0] holds the IDs accepted
	// since the last heartbeat, history[k] those of k heartbeats ago.
	history [][]uint64
}

// gossipNode is one endpoint's GossipSub state.
type gossipNode struct {
	topics [state.MaxChannels]*topic
	// seen remembers message IDs until SeenTTL after first sight, as a
	// bitmap from seenBase (the network numbers broadcasts in order, so
	// the IDs a node sees within SeenTTL are close together; a map of
	// them was a fifth of a large simulation's time). seenQ holds them in
	// the order seen, so that pruning pops from its front.
	seen     []uint64
	seenBase uint64
	seenQ    []seenAt
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
		t = &topic{backoff: map[state.PeerID]int64{}, history: make([][]uint64, ep.net.gossip.HistoryLength)}
		ep.g.topics[ch] = t
	}
	return t
}

// markSeen records id; it reports false if it was already seen, or is
// older than anything the seen-cache still holds (no copy of a message
// outlives the message cache's few heartbeats, let alone SeenTTL).
func (ep *Endpoint) markSeen(id uint64) bool {
	g := &ep.g
	if id < g.seenBase {
		return false
	}
	i := id - g.seenBase
	w := int(i / 64)
	if w >= len(g.seen) {
		g.seen = append(g.seen, make([]uint64, w+1-len(g.seen))...)
	}
	bit := uint64(1) << (i % 64)
	if g.seen[w]&bit != 0 {
		return false
	}
	g.seen[w] |= bit
	g.seenQ = append(g.seenQ, seenAt{id: id, at: ep.net.now})
	return true
}

// seenHas reports whether id is in the seen-cache.
func (g *gossipNode) seenHas(id uint64) bool {
	if id < g.seenBase {
		return false
	}
	i := id - g.seenBase
	w := int(i / 64)
	return w < len(g.seen) && g.seen[w]&(1<<(i%64)) != 0
}

// forgetSeen drops the IDs seen more than ttl ago, and the bitmap's words
// below the oldest ID left.
func (g *gossipNode) forgetSeen(now, ttl int64) {
	q := g.seenQ
	i := 0
	for ; i < len(q) && q[i].at+ttl <= now; i++ {
		j := q[i].id - g.seenBase
		g.seen[j/64] &^= 1 << (j % 64)
	}
	if i == 0 {
		return
	}
	g.seenQ = append(q[:0], q[i:]...)
	for len(g.seen) > 0 && g.seen[0] == 0 && (len(g.seenQ) == 0 || g.seenBase+64 <= g.seenQ[0].id) {
		g.seen = g.seen[1:]
		g.seenBase += 64
	}
}

// remember puts an accepted or published message in the message cache.
func (ep *Endpoint) remember(m *gossipMsg) {
	t := ep.topic(m.ch)
	t.history[0] = append(t.history[0], m.id)
}

// cached reports whether the node's message cache still holds id.
func (t *topic) cached(id uint64) bool {
	for _, h := range t.history {
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
	if publish || ep.net.gossip.Flood {
		for _, to := range ep.peers {
			if to != from && to.ID != m.author {
				ep.sendGossip(to, m)
			}
		}
		return
	}
	for _, to := range ep.topic(m.ch).mesh {
		if to != from && to.ID != m.author {
			ep.sendGossip(to, m)
		}
	}
}

// sendGossip transmits one copy of m to a connected peer.
func (ep *Endpoint) sendGossip(to *Endpoint, m *gossipMsg) {
	l := ep.linkTo[to]
	if l == nil || !l.alive[l.side(ep)] {
		return
	}
	n := ep.net
	if to.g.seenHas(m.id) && !to.down && !to.silent && n.reachable(ep, to) {
		// The peer has the message already, so this copy can only be
		// dropped as a duplicate when it arrives: it is counted, and
		// neither drawn nor scheduled (most copies are such).
		n.gstats.Arrivals++
		return
	}
	s := l.side(ep)
	if !n.reachable(ep, to) {
		m.fate.drop(DropPartition)
		return
	}
	if n.lost() {
		m.fate.drop(DropLoss)
		return
	}
	at := l.arrival(n, 1-s)
	if m.fate != nil {
		m.fate.InFlight++
	}
	// A typed event rather than a closure: copies are most of a large
	// simulation's events, and a closure is an allocation each.
	n.seq++
	n.events.push(event{at: at, seq: n.seq, copy: copyOf{l: l, m: m, to: uint8(1 - s)}})
}

// copyOf is a copy of a broadcast on its way to side `to` of link l.
type copyOf struct {
	l  *link
	m  *gossipMsg
	to uint8
}

// arrive delivers the copy, unless its connection closed on the way.
func (c copyOf) arrive() {
	if c.m.fate != nil {
		c.m.fate.InFlight--
	}
	if !c.l.alive[c.to] {
		c.m.fate.drop(DropClosed)
		return
	}
	c.l.ends[c.to].receiveGossip(c.l.ends[1-c.to], c.m)
}

// receiveGossip is a copy of a broadcast arriving from a peer: a message
// seen before is dropped, a new one is handed to the node (GossipReceived)
// and relayed only once the node accepts it.
func (ep *Endpoint) receiveGossip(from *Endpoint, m *gossipMsg) {
	if ep.down || ep.silent {
		m.fate.drop(DropCrash)
		return
	}
	ep.net.gstats.Arrivals++
	if !ep.markSeen(m.id) {
		return
	}
	ep.net.gstats.First++
	ep.gossip(from, m)
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
			var cand []*Endpoint
			for _, p := range ep.peers {
				if !slices.Contains(t.mesh, p) && t.backoff[p.ID] <= n.now {
					cand = append(cand, p)
				}
			}
			n.shuffle(cand)
			for _, p := range cand[:min(len(cand), g.D-len(t.mesh))] {
				t.mesh = append(t.mesh, p)
				ep.control(p, func(to *Endpoint) { to.grafted(ep, state.Channel(ch)) })
				n.gstats.Graft++
			}
		}
		if len(t.mesh) > g.Dhi {
			n.shuffle(t.mesh)
			for _, p := range t.mesh[g.D:] {
				t.backoff[p.ID] = n.now + int64(g.PruneBackoff)
				ep.control(p, func(to *Endpoint) { to.pruned(ep, state.Channel(ch)) })
				n.gstats.Prune++
			}
			t.mesh = slices.Clone(t.mesh[:g.D])
		}
		ep.offer(state.Channel(ch), t)
		last := t.history[len(t.history)-1]
		copy(t.history[1:], t.history[:len(t.history)-1])
		t.history[0] = last[:0]
		for id, until := range t.backoff {
			if until <= n.now {
				delete(t.backoff, id) // order does not matter: deletions only
			}
		}
	}
	ep.g.forgetSeen(n.now, int64(g.SeenTTL))
}

// offer sends an IHAVE with the IDs of the last HistoryGossip heartbeats
// to Dlazy peers outside the mesh.
func (ep *Endpoint) offer(ch state.Channel, t *topic) {
	n := ep.net
	var ids []uint64
	for _, h := range t.history[:n.gossip.HistoryGossip] {
		ids = append(ids, h...)
	}
	if len(ids) == 0 {
		return
	}
	var cand []*Endpoint
	for _, p := range ep.peers {
		if !slices.Contains(t.mesh, p) {
			cand = append(cand, p)
		}
	}
	n.shuffle(cand)
	for _, p := range cand[:min(len(cand), n.gossip.Dlazy)] {
		n.gstats.IHave++
		ep.control(p, func(to *Endpoint) { to.ihave(ep, ids) })
	}
}

// grafted is a peer adding us to its mesh: GossipSub adds it to ours
// unless we pruned it recently (it is then pruned again).
func (ep *Endpoint) grafted(from *Endpoint, ch state.Channel) {
	if ep.down || ep.silent || ep.linkTo[from] == nil {
		return
	}
	t := ep.topic(ch)
	if t.backoff[from.ID] > ep.net.now {
		ep.net.gstats.Prune++
		ep.control(from, func(to *Endpoint) { to.pruned(ep, ch) })
		return
	}
	if !slices.Contains(t.mesh, from) {
		t.mesh = append(t.mesh, from)
	}
}

// pruned is a peer dropping us from its mesh.
func (ep *Endpoint) pruned(from *Endpoint, ch state.Channel) {
	if ep.down || ep.silent {
		return
	}
	t := ep.topic(ch)
	t.mesh = slices.DeleteFunc(t.mesh, func(p *Endpoint) bool { return p == from })
	t.backoff[from.ID] = ep.net.now + int64(ep.net.gossip.PruneBackoff)
}

// ihave asks for the offered messages we have not seen.
func (ep *Endpoint) ihave(from *Endpoint, ids []uint64) {
	if ep.down || ep.silent {
		return
	}
	var want []uint64
	for _, id := range ids {
		if !ep.g.seenHas(id) {
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
			ep.sendGossip(from, m)
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
func (ep *Endpoint) Seen(id uint64) bool { return ep.g.seenHas(id) }

// Holding reports whether the node holds broadcast id for its verdict.
func (ep *Endpoint) Holding(id uint64) bool {
	_, ok := ep.inHand(id)
	return ok
}

// leaveMeshes forgets a peer whose connection is gone.
func (ep *Endpoint) leaveMeshes(peer *Endpoint) {
	for _, t := range ep.g.topics {
		if t != nil {
			t.mesh = slices.DeleteFunc(t.mesh, func(p *Endpoint) bool { return p == peer })
		}
	}
}

// shuffle permutes s with the network's RNG.
func (n *Network) shuffle(s []*Endpoint) {
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
}

// message returns broadcast id if it is recent enough to be cached.
func (n *Network) message(id uint64) *gossipMsg {
	if id < n.msgBase || id-n.msgBase >= uint64(len(n.msgs)) {
		return nil
	}
	return n.msgs[id-n.msgBase]
}
