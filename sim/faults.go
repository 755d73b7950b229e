package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service/simnet"
	"github.com/p2pcore/p2pcore/state"
)

// Faults beyond partitions, crashes and freezes.
const (
	// FaultRestart brings crashed Nodes back as new processes: a new state
	// and store (and log, named <id>.restart-N.log), given the peer store
	// the node saved before it crashed. Nodes that are up are left alone.
	FaultRestart FaultKind = "restart"
	// FaultOneWay is an asymmetric partition: what Nodes send to the
	// others is lost, what the others send them arrives.
	FaultOneWay FaultKind = "oneway"
	// FaultLoss is a burst of loss: the network drops Value (0–1) of
	// messages and dials until the next heal.
	FaultLoss FaultKind = "loss"
	// FaultSlow delays every message to or from Nodes by Value seconds
	// more, until the next heal.
	FaultSlow FaultKind = "slow"
	// FaultClock steps the clocks of Nodes by Value seconds (forward or
	// back); the step stays. A node's clock never runs backwards for its
	// own store: a step back holds it until real time catches up.
	FaultClock FaultKind = "clock"
)

// FaultKinds lists every kind of fault, as the CLI accepts them.
var FaultKinds = []FaultKind{FaultPartition, FaultHeal, FaultCrash, FaultSilence,
	FaultRestart, FaultOneWay, FaultLoss, FaultSlow, FaultClock}

// validFault checks a fault's value for its kind.
func validFault(f Fault) error {
	switch f.Kind {
	case FaultLoss:
		if !(f.Value >= 0 && f.Value <= 1) {
			return fmt.Errorf("fault %s at %v: rate %v, want 0 to 1", f.Kind, f.At, f.Value)
		}
	case FaultSlow:
		if !(f.Value >= 0 && f.Value <= 60) {
			return fmt.Errorf("fault %s at %v: delay %vs, want 0 to 60 s", f.Kind, f.At, f.Value)
		}
	case FaultClock:
		if !(f.Value >= -86400 && f.Value <= 86400) {
			return fmt.Errorf("fault %s at %v: step %vs, want at most a day either way", f.Kind, f.At, f.Value)
		}
	case FaultPartition, FaultHeal, FaultCrash, FaultSilence, FaultRestart, FaultOneWay:
	default:
		return fmt.Errorf("fault kind %q unknown", f.Kind)
	}
	return nil
}

// CheckRestarts reports a restart of a node that is up at the time: one
// never crashed, or crashed and already restarted. The simulation leaves
// such a node alone (FaultRestart), which is right for schedules drawn at
// random but, in a schedule a person wrote, a mistake in its times or node
// numbers (a restart before its crash, say).
func CheckRestarts(faults []Fault) error {
	sorted := slices.Clone(faults)
	slices.SortStableFunc(sorted, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	down := map[int]bool{}
	for _, f := range sorted {
		for _, i := range f.Nodes {
			switch f.Kind {
			case FaultCrash:
				down[i] = true
			case FaultRestart:
				if !down[i] {
					return fmt.Errorf("fault restart at %v: node %d is not down then (restart follows a crash of the same node)", f.At, i)
				}
				down[i] = false
			}
		}
	}
	return nil
}

// nodeClock is a node's clock: the network's, stepped by the node's clock
// faults, never going back for the store that reads it.
type nodeClock struct {
	net    *simnet.Network
	offset int64
}

// Now is the network's time plus the node's offset.
func (c *nodeClock) Now() int64 { return c.net.Now() + c.offset }

func (s *Sim) applyMore(f Fault, eps []*simnet.Endpoint) {
	switch f.Kind {
	case FaultRestart:
		for _, i := range f.Nodes {
			if n := s.Nodes[i]; n.EP.Down() {
				s.restart(n)
			}
		}
	case FaultOneWay:
		s.Net.CutOneWay(eps)
	case FaultLoss:
		s.Net.SetLoss(int(f.Value * 1_000_000))
	case FaultSlow:
		for _, ep := range eps {
			ep.Slow(time.Duration(f.Value * float64(time.Second)))
		}
	case FaultClock:
		for _, i := range f.Nodes {
			s.Nodes[i].clock.offset += int64(f.Value * float64(time.Second))
		}
	}
}

// restart ends a crashed node's log as its process would have left it,
// and starts it again: a new state seeded from the simulation's seed, the
// peer store it saved, a new log.
func (s *Sim) restart(n *Node) {
	if n.Log != nil && !n.stopped {
		h, sections := n.Store.State().Hashes()
		if err := n.Log.End(n.Store.LastID(), h, sections); err != nil && s.err == nil {
			s.err = fmt.Errorf("sim: %s: %w", n.ID, err)
		}
		n.stopped = true
	}
	v, first := n.Store.Violations()
	n.past += v
	if n.pastFirst == nil {
		n.pastFirst = first
	}
	n.restarts++
	n.EP.Restart()
	if err := s.start(n, s.rng.Uint64(), fmt.Sprintf("%s.restart-%d.log", n.ID, n.restarts)); err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	if saved := n.EP.Saved; saved != nil {
		n.EP.Input(action.PeerStoreLoaded{Store: clonePeerStore(*saved)})
	}
}

// clonePeerStore copies a saved peer store, so that the new process does
// not share memory with what the old one saved.
func clonePeerStore(ps state.PeerStore) state.PeerStore {
	out := state.PeerStore{Entries: make([]state.AddrEntry, len(ps.Entries)), Bans: append(ps.Bans[:0:0], ps.Bans...)}
	for i, e := range ps.Entries {
		e.Addrs = append(e.Addrs[:0:0], e.Addrs...)
		out.Entries[i] = e
	}
	return out
}

// Violations is what the node's invariant checks found over all its
// lives: how many, and the first.
func (n *Node) Violations() (uint64, error) {
	v, first := n.Store.Violations()
	if n.pastFirst != nil {
		first = n.pastFirst
	}
	return v + n.past, first
}
