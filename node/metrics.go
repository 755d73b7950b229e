package node

import (
	"sync"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// TimingBuckets are the upper bounds of the histograms of Metrics: how
// long an action's reducer and effects took, and how long a whole input
// took to dispatch. The last bucket counts everything slower.
var TimingBuckets = []time.Duration{
	time.Microsecond, 10 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond,
	500 * time.Microsecond, time.Millisecond, 5 * time.Millisecond, 50 * time.Millisecond,
}

// Timing is the distribution of some durations.
type Timing struct {
	Count uint64
	Total time.Duration
	Max   time.Duration
	// Buckets counts the durations by TimingBuckets: Buckets[i] those
	// over TimingBuckets[i-1] and at most TimingBuckets[i]; the last
	// those over every bound.
	Buckets []uint64
}

// Mean is the mean duration.
func (t Timing) Mean() time.Duration {
	if t.Count == 0 {
		return 0
	}
	return t.Total / time.Duration(t.Count)
}

func (t *Timing) add(d time.Duration) {
	if t.Buckets == nil {
		t.Buckets = make([]uint64, len(TimingBuckets)+1)
	}
	t.Count++
	t.Total += d
	t.Max = max(t.Max, d)
	i := 0
	for i < len(TimingBuckets) && d > TimingBuckets[i] {
		i++
	}
	t.Buckets[i]++
}

func (t Timing) clone() Timing {
	t.Buckets = append([]uint64(nil), t.Buckets...)
	return t
}

// KindMetrics are one action kind's counts and times.
type KindMetrics struct {
	Kind action.Kind
	// Count counts the actions dispatched, Enabled those whose enabling
	// condition held (the others were no-ops, not timed).
	Count, Enabled uint64
	// Reduce and Effects are the times of the reducer and the effects,
	// Total of the two together.
	Reduce, Effects, Total Timing
}

// Metrics are what a node measures around its state machine when
// Config.Metrics is set: per-kind counts and times, how long inputs took
// to dispatch, the bytes of messages in and out, and misbehaviour. They
// are measured with the wall clock in the node's goroutine, outside the
// deterministic core: they are not in the state or the log (the state's
// own counters are, and Snapshot reads them).
type Metrics struct {
	Kinds []KindMetrics
	// Dispatch is the time of whole inputs: reducers, effects and
	// derived actions, and handing the commands to the service.
	Dispatch Timing
	// BytesIn and BytesOut are message payload bytes received and sent
	// (direct, requests and answers) or published, by channel.
	BytesIn, BytesOut []uint64
	// Offences counts misbehaviour scored, by offence.
	Offences map[string]uint64
}

// meter measures the actions a store applies. The node's goroutine
// writes it; Metrics reads it from any goroutine.
type meter struct {
	mu       sync.Mutex
	kinds    []KindMetrics // by kind number
	dispatch Timing
	in, out  [state.MaxChannels]uint64
	offences map[string]uint64

	// Owned by the node's goroutine.
	started, reduced time.Time
	next             store.Observer
}

func newMeter(next store.Observer) *meter {
	return &meter{next: next, offences: map[string]uint64{}}
}

func (m *meter) kind(k action.Kind) *KindMetrics {
	for int(k) >= len(m.kinds) {
		m.kinds = append(m.kinds, KindMetrics{Kind: action.Kind(len(m.kinds))})
	}
	return &m.kinds[k]
}

// phase is store.Options.Phases.
func (m *meter) phase(p store.Phase, _ action.Meta, a action.Action) {
	now := time.Now()
	switch p {
	case store.PhaseReduce:
		m.started = now
	case store.PhaseEffects:
		m.reduced = now
	case store.PhaseDone:
		m.mu.Lock()
		km := m.kind(a.Kind())
		km.Enabled++
		km.Reduce.add(m.reduced.Sub(m.started))
		km.Effects.add(now.Sub(m.reduced))
		km.Total.add(now.Sub(m.started))
		m.mu.Unlock()
	}
}

// Input counts an input and the bytes it brought, then passes it on.
func (m *meter) Input(md action.Meta, a action.Action) {
	m.mu.Lock()
	m.kind(a.Kind()).Count++
	switch a := a.(type) {
	case action.MessageReceived:
		m.in[a.Channel%state.MaxChannels] += uint64(a.Len())
	case action.GossipReceived:
		m.in[a.Channel%state.MaxChannels] += uint64(a.Len())
	case action.RequestReceived:
		m.in[a.Channel%state.MaxChannels] += uint64(a.Len())
	case action.ResponseReceived:
		m.in[a.Channel%state.MaxChannels] += uint64(a.Len())
	}
	m.mu.Unlock()
	if m.next != nil {
		m.next.Input(md, a)
	}
}

// Derived counts a derived action, then passes it on.
func (m *meter) Derived(md action.Meta, a action.Action, dropped bool) {
	m.mu.Lock()
	m.kind(a.Kind()).Count++
	if mb, ok := a.(action.Misbehaved); ok && !dropped {
		m.offences[mb.Offence.String()]++
	}
	m.mu.Unlock()
	if m.next != nil {
		m.next.Derived(md, a, dropped)
	}
}

// Commands counts the bytes the commands send, then passes them on.
func (m *meter) Commands(md action.Meta, a action.Action, cmds []service.Command) {
	m.mu.Lock()
	for _, c := range cmds {
		switch c := c.(type) {
		case service.Send:
			m.out[c.Channel%state.MaxChannels] += uint64(len(c.Data))
		case service.Publish:
			m.out[c.Channel%state.MaxChannels] += uint64(len(c.Data))
		case service.Request:
			m.out[c.Channel%state.MaxChannels] += uint64(len(c.Data))
		case service.Respond:
			m.out[c.Channel%state.MaxChannels] += uint64(len(c.Data))
		}
	}
	m.mu.Unlock()
	if m.next != nil {
		m.next.Commands(md, a, cmds)
	}
}

// Checkpoint passes the checkpoint on.
func (m *meter) Checkpoint(lastID uint64, h state.Hash, sections []state.SectionHash) {
	if m.next != nil {
		m.next.Checkpoint(lastID, h, sections)
	}
}

func (m *meter) dispatched(d time.Duration) {
	m.mu.Lock()
	m.dispatch.add(d)
	m.mu.Unlock()
}

func (m *meter) snapshot(channels int) Metrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := Metrics{Dispatch: m.dispatch.clone(), Offences: map[string]uint64{},
		BytesIn: append([]uint64(nil), m.in[:channels]...), BytesOut: append([]uint64(nil), m.out[:channels]...)}
	for _, k := range m.kinds {
		if k.Count > 0 {
			k.Reduce, k.Effects, k.Total = k.Reduce.clone(), k.Effects.clone(), k.Total.clone()
			out.Kinds = append(out.Kinds, k)
		}
	}
	for o, n := range m.offences {
		out.Offences[o] = n
	}
	return out
}

// Metrics returns what the node measured so far; ok is false when
// Config.Metrics is not set or the node has not started. It is safe to
// call from any goroutine at any time and does not wait for the node's
// goroutine.
func (n *Node) Metrics() (m Metrics, ok bool) {
	n.mu.Lock()
	mt := n.meter
	n.mu.Unlock()
	if mt == nil {
		return Metrics{}, false
	}
	return mt.snapshot(min(len(n.rules.Channels), state.MaxChannels)), true
}
