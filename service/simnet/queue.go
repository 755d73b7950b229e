package simnet

import "slices"

// The event queue. A large simulation has tens of thousands of events
// pending, nearly all copies of broadcasts due within the next 50 ms, and
// a binary or 4-ary heap over them was an eighth of the run. The calendar
// below keeps the next second in buckets of about a millisecond:
// scheduling appends to a bucket, and a bucket is sorted once, when the
// clock reaches it. Events further ahead wait in a heap. The order is
// exactly the heap's: by time, then by the order they were scheduled.
//
// Only the heap needs that order as a number (farEvent.seq): the events of
// a bucket are appended to it in the order they are scheduled, those that
// waited in the heap first (see advance), so a stable sort by time alone
// puts them in order. Without it an event is 40 bytes, not 48: copies of
// broadcasts, most of the events, are written to the ring and copied out of
// it in sorted order, a large simulation's memory traffic.

type event struct {
	at   int64
	fn   func()
	copy copyOf // when fn is nil
}

// farEvent is an event beyond the ring, with its place in the order of
// scheduling.
type farEvent struct {
	event
	seq uint64
}

func (e *farEvent) before(o *farEvent) bool {
	return e.at < o.at || e.at == o.at && e.seq < o.seq
}

// eventQueue is a 4-ary min-heap on (time, sequence): events at the same
// time run in the order they were scheduled. It is written out rather than
// built on container/heap, whose interface boxed every event on the heap
// (an allocation per event, millions a simulated minute).
type eventQueue []farEvent

func (q eventQueue) Len() int { return len(q) }

func (q *eventQueue) push(e farEvent) {
	*q = append(*q, e)
	h := *q
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 4
		if !h[i].before(&h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *eventQueue) pop() farEvent {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = farEvent{}
	h = h[:last]
	*q = h
	i := 0
	for {
		first := 4*i + 1
		if first >= len(h) {
			break
		}
		best := first
		for c := first + 1; c < first+4 && c < len(h); c++ {
			if h[c].before(&h[best]) {
				best = c
			}
		}
		if !h[best].before(&h[i]) {
			break
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
	return top
}

const (
	bucketShift = 20   // bucket width: 2^20 ns, about a millisecond
	numBuckets  = 1024 // the calendar's horizon: about 1.07 s (ticks, heartbeats, copies)
)

// calendar is the network's event queue.
type calendar struct {
	// cur holds the events of bucket curBucket, sorted, from head on.
	cur       []event
	head      int
	curBucket int64
	// ring holds the events of the next numBuckets-1 buckets, unsorted,
	// each at its bucket number modulo numBuckets; inRing counts them.
	ring   [numBuckets][]event
	inRing int
	// far holds the events beyond the ring.
	far eventQueue
	// keys and scratch are advance's sorting space.
	keys    []uint64
	scratch []event
}

// Len is the number of pending events.
func (c *calendar) Len() int { return len(c.cur) - c.head + c.inRing + c.far.Len() }

func bucketOf(at int64) int64 { return at >> bucketShift }

// push schedules e, the seq-th event scheduled. Events of the current
// bucket or an earlier one (the clock may stand before the current bucket
// once peek has moved to it) are put in place among the sorted ones.
func (c *calendar) push(e event, seq uint64) {
	b := bucketOf(e.at)
	switch {
	case b <= c.curBucket:
		// e was scheduled last: it goes after every event due no later.
		rest := c.cur[c.head:]
		i, _ := slices.BinarySearchFunc(rest, e.at, func(x event, at int64) int {
			if x.at <= at {
				return -1
			}
			return 1
		})
		if c.head > 0 && i == 0 {
			c.head--
			c.cur[c.head] = e
			return
		}
		c.cur = slices.Insert(c.cur, c.head+i, e)
	case b < c.curBucket+numBuckets:
		c.ring[b%numBuckets] = append(c.ring[b%numBuckets], e)
		c.inRing++
	default:
		c.far.push(farEvent{event: e, seq: seq})
	}
}

// peek returns the next event without removing it, nil if none.
func (c *calendar) peek() *event {
	if c.head == len(c.cur) && !c.advance() {
		return nil
	}
	return &c.cur[c.head]
}

// pop removes and returns the next event; there must be one.
func (c *calendar) pop() event {
	if c.head == len(c.cur) {
		c.advance()
	}
	e := c.cur[c.head]
	c.cur[c.head] = event{}
	c.head++
	return e
}

// advance moves to the next bucket holding events and sorts it; it
// reports false if no event is pending.
func (c *calendar) advance() bool {
	c.cur, c.head = c.cur[:0], 0
	for {
		if c.inRing == 0 {
			if c.far.Len() == 0 {
				return false
			}
			// Nothing near: jump to the far heap's first bucket.
			c.curBucket = max(c.curBucket+1, bucketOf(c.far[0].at))
		} else {
			c.curBucket++
		}
		slot := &c.ring[c.curBucket%numBuckets]
		src := *slot
		c.inRing -= len(src)
		if c.far.Len() > 0 && bucketOf(c.far[0].at) == c.curBucket {
			// Events of this bucket still in the heap (the ring was empty
			// and the calendar jumped here) were scheduled before any of
			// its slot's: they go first, in the heap's order.
			c.scratch = c.scratch[:0]
			for c.far.Len() > 0 && bucketOf(c.far[0].at) == c.curBucket {
				c.scratch = append(c.scratch, c.far.pop().event)
			}
			src = append(c.scratch, src...)
			c.scratch = src
		}
		if len(src) > 0 {
			c.sortInto(src)
		}
		clear(*slot)
		*slot = (*slot)[:0]
		clear(c.scratch)
		c.scratch = c.scratch[:0]
		// Events now within the horizon move from the heap to the ring.
		for c.far.Len() > 0 && bucketOf(c.far[0].at) < c.curBucket+numBuckets {
			e := c.far.pop()
			i := bucketOf(e.at) % numBuckets
			c.ring[i] = append(c.ring[i], e.event)
			c.inRing++
		}
		if len(c.cur) > 0 {
			return true
		}
	}
}

// sortInto puts the current bucket's events, src, in cur in order: src
// holds them in the order they were scheduled (a heap event joins a
// bucket's slot when the slot comes within the ring's reach, before any
// event can be scheduled into it directly; so it is appended before them,
// as it was scheduled before them), so the order of their times, ties kept
// in place, is the (time, sequence) order. Each event's key packs its
// offset in the bucket (20 bits) above its index, and sorting plain
// integers is several times faster than sorting events through a
// comparison function; the events are then copied once, in order.
func (c *calendar) sortInto(src []event) {
	base := c.curBucket << bucketShift
	c.keys = c.keys[:0]
	for i := range src {
		c.keys = append(c.keys, uint64(src[i].at-base)<<44|uint64(i))
	}
	slices.Sort(c.keys)
	for _, k := range c.keys {
		c.cur = append(c.cur, src[k&(1<<44-1)])
	}
}
