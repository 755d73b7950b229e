// Package simnet is a deterministic in-memory network: many nodes in one
// process, one virtual clock, one seeded scheduler.
//
// Each node's store talks to an Endpoint, which implements
// service.Service. Commands become scheduled events — a dial arrives after a
// latency drawn from the seed, a message is delivered in order on its
// connection, a close is seen by the other side after what was sent before
// it — and events become input actions dispatched into the target node's
// store at their virtual time. Loss, partitions, crashes and silent nodes
// are drawn from or scheduled by the same seed, so one seed reproduces a
// whole run, byte for byte.
//
// Broadcasts travel as GossipSub carries them (gossip.go): a publisher
// sends to all its peers, a node relays what it accepts to its mesh of
// about six peers per channel, and tells a few others what it has so that
// what the mesh lost can be fetched; duplicates are dropped by a pruned
// seen-cache. This lives here, in the service, as GossipSub's does.
package simnet

import (
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Config shapes the network.
type Config struct {
	// Seed drives every random draw of the network.
	Seed uint64
	// Start is the virtual time at which the network starts, in ns.
	Start int64
	// LatencyMin and LatencyMax bound the one-way delay of each message.
	LatencyMin, LatencyMax time.Duration
	// LossPPM is the chance, per million, that a message or a dial is lost
	// on its way. A connection's messages and a dial are then sent again
	// (see transmit); a broadcast copy is gone.
	LossPPM int
	// Gossip shapes the simulated GossipSub (zero: its defaults).
	Gossip GossipConfig
}

// Network is the simulated network and its clock. It is not safe for
// concurrent use: a simulation runs in one goroutine.
type Network struct {
	cfg    Config
	now    int64
	rng    state.RNG
	events calendar
	seq    uint64

	nodes  []*Endpoint
	byAddr map[state.Addr]*Endpoint
	// By node index: quiet is set for the nodes down or silent; slow is
	// the extra delay of every message to or from the node, in ns; peerID
	// is its ID. (Read on the path of every copy of a broadcast, they are
	// kept here rather than in each node's endpoint.)
	quiet  []bool
	slow   []int64
	peerID []state.PeerID
	// reach is what Reach keeps between calls (reach.go); topo counts
	// the changes to what it follows (changed).
	reach reachState
	topo  uint64
	// ids holds the IDs of the nodes; sharedIDs is set once two share one.
	ids       map[state.PeerID]bool
	sharedIDs bool
	// partition assigns each node a side; nodes on different sides cannot
	// reach each other. Nil means no partition.
	partition map[*Endpoint]int
	// mute holds the nodes of a one-way cut: what they send to others is
	// lost.
	mute   map[*Endpoint]bool
	msgSeq uint64
	// links and topics are the slabs new ones are cut from (newLink,
	// newTopic).
	links  []link
	topics []topic

	gossip    GossipConfig
	gstats    GossipStats
	fates     map[uint64]*Fate
	trackNext bool
	msgs      []*gossipMsg
	msgBase   uint64
	// seenMsgs are the broadcasts from seenBase on, while a node's
	// seen-cache may hold them (gossipMsg.seenBy).
	seenMsgs []*gossipMsg
	seenBase uint64

	// sink takes the values of reads made only to bring memory into the
	// cache (Endpoint.warm); nothing reads it.
	sink int64

	// Events counts processed events.
	Events uint64
	// dht is the DHT model (dht.go), made on first use.
	dht *dhtModel
}

// New returns an empty network.
func New(cfg Config) *Network {
	if cfg.LatencyMax < cfg.LatencyMin {
		cfg.LatencyMax = cfg.LatencyMin
	}
	cfg.Gossip.defaults()
	return &Network{cfg: cfg, now: cfg.Start, rng: state.NewRNG(cfg.Seed), byAddr: map[state.Addr]*Endpoint{},
		ids: map[state.PeerID]bool{}, gossip: cfg.Gossip}
}

// Now is the virtual time; the network is the clock of every store on it.
func (n *Network) Now() int64 { return n.now }

// At schedules fn at virtual time t (not before now).
func (n *Network) At(t int64, fn func()) {
	if t < n.now {
		t = n.now
	}
	n.seq++
	n.events.push(event{at: t, fn: fn}, n.seq)
}

// After schedules fn after d.
func (n *Network) After(d time.Duration, fn func()) { n.At(n.now+int64(d), fn) }

// RunUntil processes events in time order until none is due at or before
// t, then sets the clock to t.
func (n *Network) RunUntil(t int64) {
	for {
		next := n.events.peek()
		if next == nil || next.at > t {
			break
		}
		ev := n.events.pop()
		n.now = ev.at
		n.Events++
		n.ahead()
		if ev.fn != nil {
			ev.fn()
		} else {
			ev.copy.arrive(n)
		}
	}
	if t > n.now {
		n.now = t
	}
}

// Pending is the number of scheduled events.
func (n *Network) Pending() int { return n.events.Len() }

// latency draws a one-way delay.
func (n *Network) latency() int64 {
	lo, hi := int64(n.cfg.LatencyMin), int64(n.cfg.LatencyMax)
	if hi <= lo {
		return lo
	}
	return lo + n.rng.Int63n(hi-lo+1)
}

// lost draws whether a message or dial is lost (once: see
// retransmissions).
func (n *Network) lost() bool {
	return n.cfg.LossPPM > 0 && n.rng.Intn(1_000_000) < n.cfg.LossPPM
}

// reachable reports whether what a sends reaches b, across the current
// partition and one-way cuts.
func (n *Network) reachable(a, b *Endpoint) bool {
	if n.mute != nil && n.mute[a] && !n.mute[b] {
		return false
	}
	if n.partition == nil {
		return true
	}
	return n.partition[a] == n.partition[b]
}

// CutOneWay makes an asymmetric partition: what the nodes in group send
// to the other nodes does not arrive (on a connection it is retransmitted,
// as across a partition), what the others send them arrives. Heal removes
// it.
func (n *Network) CutOneWay(group []*Endpoint) {
	n.changed()
	n.mute = map[*Endpoint]bool{}
	for _, ep := range group {
		n.mute[ep] = true
	}
}

// Partition splits the network: nodes in each group reach only nodes of
// the same group; nodes in no group form one more group. Open connections
// across the cut stay open, as with a network cut that TCP has not noticed
// yet: what they carry is retransmitted until the cut heals, or until the
// connection gives up (see Endpoint.transmit); broadcast copies are lost.
func (n *Network) Partition(groups ...[]*Endpoint) {
	n.changed()
	n.partition = map[*Endpoint]int{}
	for i, g := range groups {
		for _, ep := range g {
			n.partition[ep] = i + 1
		}
	}
}

// Heal removes the partition and one-way cuts, and makes slow nodes fast
// again.
func (n *Network) Heal() {
	n.changed()
	n.partition, n.mute = nil, nil
	clear(n.slow)
}

// SetLoss changes the loss rate.
func (n *Network) SetLoss(ppm int) { n.cfg.LossPPM = ppm }

// Endpoints lists the nodes in the order they were added.
func (n *Network) Endpoints() []*Endpoint { return n.nodes }

// Dispatcher receives the input actions meant for one node.
type Dispatcher func(action.Action)

// Target is what takes a node's input actions: its store.
type Target interface {
	Dispatch(action.Action) (action.Meta, error)
}

// linkSlab is how many links newLink allocates at once.
const linkSlab = 256

// newLink returns a zero link. Links are cut from slabs so that they lie
// together in memory: every copy of a broadcast reads its link, and links
// scattered among the heap's short-lived objects missed the cache on
// nearly every read.
func (n *Network) newLink() *link {
	if len(n.links) == 0 {
		n.links = make([]link, linkSlab)
	}
	l := &n.links[0]
	n.links = n.links[1:]
	return l
}

// newTopic returns a zero topic, cut from a slab as links are.
func (n *Network) newTopic() *topic {
	if len(n.topics) == 0 {
		n.topics = make([]topic, 64)
	}
	t := &n.topics[0]
	n.topics = n.topics[1:]
	return t
}

// ahead reads what the next events will read first, as Endpoint.warm does
// for a relay, a stage further for each event ahead: the link of the third
// copy from now; the receiving endpoint of the second, if it is new to the
// node (its link was read an event ago); the end of that node's seen-queue
// and the broadcast's topic for the next (its endpoint was read an event
// ago). The processor fetches them while this event runs. It changes
// nothing.
func (n *Network) ahead() {
	c := &n.events
	h := c.head
	var sum int64
	if h+2 < len(c.cur) {
		if e := &c.cur[h+2]; e.fn == nil {
			sum += e.copy.l.last[0]
		}
	}
	if h+1 < len(c.cur) {
		if e := &c.cur[h+1]; e.fn == nil {
			l := e.copy.l
			if !e.copy.m.seenAt(l.node[e.copy.to]) {
				sum += int64(l.ends[e.copy.to].g.seenBase)
			}
		}
	}
	if h < len(c.cur) {
		if e := &c.cur[h]; e.fn == nil {
			l := e.copy.l
			if !e.copy.m.seenAt(l.node[e.copy.to]) {
				g := &l.ends[e.copy.to].g
				if k := len(g.seenQ); k > 0 {
					sum += g.seenQ[k-1].at
				}
				if t := g.topics[e.copy.m.ch]; t != nil {
					sum += int64(len(t.recent))
				}
			}
		}
	}
	n.sink += sum
}
