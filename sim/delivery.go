package sim

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/p2pcore/p2pcore/service/simnet"
)

// deliveryStats tracks every broadcast: who got it, how fast, and, for
// those counted, what became of each delivery that did not happen.
type deliveryStats struct {
	seq uint32
	// counted holds every broadcast by its sequence number (the low half
	// of its ID) less one.
	counted   []*tracked
	order     []*tracked // counted broadcasts, in publishing order
	published int
	expected  int
	got       int
	dups      int
	latency   latencyHistogram
	refused   int
	// downAt is when each node crashed or froze (0: never).
	downAt map[int]int64
}

type tracked struct {
	at     int64
	origin int
	counts bool
	// msg is the network's ID of the broadcast (0: not published).
	msg uint64
	// live are the nodes up when it was published (the expected
	// receivers, with the origin), joined those of them in the
	// channel's mesh then (Endpoint.Meshed), reach those the publisher's
	// peers and the meshes from them led to then (Network.Reach), got
	// those that delivered it.
	live, joined, reach, got []uint64
}

func setBit(b []uint64, i int)      { b[i/64] |= 1 << (i % 64) }
func hasBit(b []uint64, i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

// message builds a broadcast payload whose first 16 bytes identify it.
func (d *deliveryStats) message(now int64, origin, size int, counts bool, receivers int) ([]byte, *tracked) {
	d.seq++
	data := make([]byte, size)
	id := uint64(origin)<<32 | uint64(d.seq)
	binary.BigEndian.PutUint64(data, id)
	binary.BigEndian.PutUint64(data[8:], uint64(now))
	for i := 16; i < size; i++ {
		data[i] = byte(i * 31)
	}
	t := &tracked{at: now, origin: origin, counts: counts}
	d.counted = append(d.counted, t)
	if counts {
		d.published++
		d.expected += receivers
		d.order = append(d.order, t)
	}
	return data, t
}

// mark records the nodes live at publishing time, which of them were in
// the channel's mesh, and (through reach) which the broadcast's paths led
// to.
func (t *tracked) mark(nodes int, up, joined func(i int) bool, reach func([]uint64)) {
	words := (nodes + 63) / 64
	t.live, t.joined, t.reach, t.got = make([]uint64, words), make([]uint64, words), make([]uint64, words), make([]uint64, words)
	for i := 0; i < nodes; i++ {
		if up(i) {
			setBit(t.live, i)
			if joined(i) {
				setBit(t.joined, i)
			}
		}
	}
	reach(t.reach)
}

// refuse counts a broadcast its node did not publish.
func (d *deliveryStats) refuse(t *tracked) {
	d.refused++
	if t.counts {
		t.counts = false
		d.published--
		d.order = d.order[:len(d.order)-1]
	}
}

func (d *deliveryStats) delivered(now int64, node int, data []byte) {
	if len(data) < 16 {
		return
	}
	id := binary.BigEndian.Uint64(data)
	seq := int64(uint32(id)) - 1
	if seq < 0 || seq >= int64(len(d.counted)) {
		return
	}
	t := d.counted[seq]
	if uint64(t.origin)<<32|uint64(seq+1) != id || !t.counts {
		return
	}
	if t.got != nil {
		if hasBit(t.got, node) {
			d.dups++
			return
		}
		setBit(t.got, node)
	}
	d.got++
	d.latency.add(now - t.at)
}

func (d *deliveryStats) wentDown(node int, now int64) {
	if d.downAt == nil {
		d.downAt = map[int]int64{}
	}
	if _, ok := d.downAt[node]; !ok {
		d.downAt[node] = now
	}
}

// Missing says where the expected deliveries that did not happen went.
type Missing struct {
	// Crash: the receiver crashed or froze after the broadcast.
	Crash int `json:"crash"`
	// Partition and Loss: a copy on the way to it could not cross a
	// partition, or the network's loss rate took it.
	Partition int `json:"partition"`
	Loss      int `json:"loss"`
	// Closed: a copy was on a connection that closed under it.
	Closed int `json:"closed"`
	// InFlight: a copy is still travelling, or the receiver holds it for
	// validation, when the run ends.
	InFlight int `json:"in_flight"`
	// Refused: the receiver got it and did not deliver it (its budgets or
	// validation refused it).
	Refused int `json:"refused"`
	// NotJoined: the receiver had not yet joined the channel's mesh when
	// it was published (no connection, or none grafted on that channel):
	// GossipSub brings a newcomer only what its peers' message caches
	// still offer, a few heartbeats' worth.
	NotJoined int `json:"not_joined"`
	// Apart: the receiver was in the channel's mesh, but in a part of it
	// that no path from the publisher led to when it was published (see
	// simnet's Network.Reach), and the parts did not join, nor did lazy
	// gossip cross between them, while the message caches held it: a
	// network still coming together, its newcomers grafted to newcomers.
	Apart int `json:"apart"`
	// Unexplained: none of the above.
	Unexplained int `json:"unexplained"`
}

// account explains every expected delivery that did not happen, from
// what the network knows of each broadcast's copies.
func (s *Sim) account() Missing {
	var m Missing
	d := &s.stats
	for _, t := range d.order {
		if t.live == nil {
			continue
		}
		f := s.Net.Fate(t.msg)
		for i, n := range s.Nodes {
			if i == t.origin || !hasBit(t.live, i) || hasBit(t.got, i) {
				continue
			}
			at, down := d.downAt[i]
			switch {
			case down && at >= t.at:
				m.Crash++
			case !hasBit(t.joined, i):
				m.NotJoined++
			case n.EP.Holding(t.msg):
				m.InFlight++
			case n.EP.Seen(t.msg):
				m.Refused++
			case f != nil && f.InFlight > 0:
				m.InFlight++
			case f.Dropped(simnet.DropPartition):
				m.Partition++
			case f.Dropped(simnet.DropLoss):
				m.Loss++
			case f.Dropped(simnet.DropCrash):
				m.Crash++
			case f.Dropped(simnet.DropClosed):
				m.Closed++
			case !hasBit(t.reach, i):
				m.Apart++
			default:
				m.Unexplained++
			}
		}
	}
	return m
}

// latencyHistogram counts delivery latencies in 10 µs buckets up to 10 s,
// the rest exactly: a list of every latency was a gigabyte-scale slice,
// sorted at the end, on a large run.
type latencyHistogram struct {
	buckets []uint32
	over    []int64
	n       int
}

const (
	latencyBucket = int64(10 * time.Microsecond)
	latencyRange  = int64(10 * time.Second)
)

func (h *latencyHistogram) add(d int64) {
	h.n++
	if d < 0 || d >= latencyRange {
		h.over = append(h.over, d)
		return
	}
	if h.buckets == nil {
		h.buckets = make([]uint32, latencyRange/latencyBucket)
	}
	h.buckets[d/latencyBucket]++
}

// quantile returns the q-th percentile (the latency of rank (n-1)·q/100),
// to 10 µs below 10 s.
func (h *latencyHistogram) quantile(q int) int64 {
	rank := (h.n - 1) * q / 100
	slices.Sort(h.over)
	var neg int
	for neg < len(h.over) && h.over[neg] < 0 {
		neg++
	}
	if rank < neg {
		return h.over[rank]
	}
	rank -= neg
	for i, c := range h.buckets {
		if rank < int(c) {
			return int64(i) * latencyBucket
		}
		rank -= int(c)
	}
	return h.over[neg+rank]
}
