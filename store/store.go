// Package store is the dispatch loop of DESIGN.md §1 without the
// goroutine: it owns a State, gives each action its Meta, checks the
// enabling condition, runs the reducer and the effects, and drains the
// derived actions in FIFO order.
//
// It is the one implementation of dispatch. The node wraps it in a
// goroutine fed by the service and the API; the simulator drives many
// stores from one virtual clock; the replayer feeds it a log. Because they
// all run this code, a replay is the same computation as the run it
// replays. (DESIGN.md puts the loop in `node`, but `replay` may not import
// `node`; a package of its own lets both use it.)
package store

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/effects"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Clock gives input actions their time, in ns. The store never lets time
// go backwards: a reading earlier than the state's time is raised to it.
type Clock interface {
	Now() int64
}

// Observer sees every dispatched action: the recorder writes them to the
// log, the replayer checks them against it, transcript tests print them.
type Observer interface {
	// Input is called for an input action before it is applied.
	Input(m action.Meta, a action.Action)
	// Derived is called for a derived action before it is applied;
	// dropped is set when its enabling condition is false.
	Derived(m action.Meta, a action.Action, dropped bool)
	// Commands is called after an enabled action's reducer and effects
	// with the commands its effects produced, when there are any.
	Commands(m action.Meta, a action.Action, cmds []service.Command)
	// Checkpoint is called with the state hash after the action lastID
	// and all it caused.
	Checkpoint(lastID uint64, h state.Hash, sections []state.SectionHash)
}

// Options configure a store.
type Options struct {
	// Observer, if set, sees every action.
	Observer Observer
	// CheckpointEvery is the number of actions between state-hash
	// checkpoints; 0 disables them.
	CheckpointEvery uint64
	// CheckInvariants runs State.Check after every input (fuzzing,
	// tests); CheckPeers runs its cheaper part, State.CheckPeers, after
	// every input — only State.CheckPeer after an input whose actions
	// change one peer at most (reducer.Locality) — and the
	// whole of it at checkpoints (simulations).
	// Without either, Check runs at checkpoints only.
	CheckInvariants bool
	CheckPeers      bool
	// Intercept, if set, runs after every enabled action's reducer and
	// effects, and may change the state and the commands. It stands in for
	// a changed reducer or effect in the tests that show a replay catches
	// such a change at the action where it happens; nothing else uses it.
	Intercept func(st *state.State, m action.Meta, a action.Action, cmds []service.Command) []service.Command
	// OnViolation, if set, is told of the first violation of each
	// invariant (by Rule) found by an audit, with the ID of the last
	// action applied before it: a running node logs it rather than only
	// counting it.
	OnViolation func(lastID uint64, v *state.Violation)
	// AfterAction, if set, is called after every action has been applied
	// or dropped, with the state it left; a replay uses it to hash the
	// state after each action when narrowing down a divergence.
	AfterAction func(st *state.State, m action.Meta, a action.Action)
	// Phases, if set, is told as an enabled action's reducer starts, as
	// its effects start and as they end. A running node times them with
	// the wall clock, outside the core; nothing it learns reaches the
	// state, the log or the commands.
	Phases func(p Phase, m action.Meta, a action.Action)
}

// Phase is a step of applying an enabled action, for Options.Phases.
type Phase uint8

// The phases, in the order they happen.
const (
	PhaseReduce  Phase = iota // the reducer is about to run
	PhaseEffects              // the reducer is done, the effects are about to run
	PhaseDone                 // the effects are done
)

// Store dispatches actions to one State. It is not safe for concurrent
// use: one goroutine owns it.
type Store struct {
	st    *state.State
	svc   service.Service
	clock Clock
	opts  Options

	queue []queued
	head  int
	cmds  []service.Command // the commands of the current input
	// delivers hold the current input's deliver commands, which cmds
	// point to (see Deliver).
	delivers []service.Deliver
	lastID   uint64
	current  uint64 // ID of the action being applied: the parent of pushes

	lastCheckpoint uint64
	auditDue       bool
	violations     uint64
	firstViolation error
	seenRules      map[string]bool
}

type queued struct {
	parent uint64
	a      action.Action
}

// New returns a store over st. st must not be touched by anyone else from
// now on. svc carries out the commands of each input once it has been
// dispatched; a replay passes nil, since its commands are only checked.
func New(st *state.State, svc service.Service, clock Clock, opts Options) *Store {
	return &Store{st: st, svc: svc, clock: clock, opts: opts}
}

// State is the store's state. Callers may read it between dispatches, from
// the goroutine that owns the store.
func (s *Store) State() *state.State { return s.st }

// LastID is the ID of the last dispatched action.
func (s *Store) LastID() uint64 { return s.lastID }

// SetLastID makes the next action's ID id+1; a replay that resumes a log
// uses it.
func (s *Store) SetLastID(id uint64) { s.lastID, s.lastCheckpoint = id, id }

// Violations is how many inputs left the state violating an invariant,
// and the first violation found.
func (s *Store) Violations() (uint64, error) { return s.violations, s.firstViolation }

// Push queues a derived action; reducers and effects call it through
// action.Queue.
func (s *Store) Push(a action.Action) {
	s.queue = append(s.queue, queued{parent: s.current, a: a})
}

// Command collects a command; effects call it through effects.Out.
func (s *Store) Command(c service.Command) {
	s.cmds = append(s.cmds, c)
}

// Deliver collects a deliver command, kept in s.delivers until the input
// is done. Should the slice grow, the commands collected before point
// into the old array, which nothing writes again.
func (s *Store) Deliver(d service.Deliver) {
	s.delivers = append(s.delivers, d)
	s.cmds = append(s.cmds, &s.delivers[len(s.delivers)-1])
}

// Dispatch applies an input action and everything it causes. It returns
// the input's Meta and, if the input was not enabled, why. The action and
// its payload are the state machine's from then on: neither may change
// afterwards (the state may keep them, and a replay.Writer encodes them a
// moment later, on a goroutine of its own).
func (s *Store) Dispatch(a action.Action) (action.Meta, error) {
	now := s.clock.Now()
	if now < s.st.Now {
		now = s.st.Now
	}
	s.st.Now = now
	s.lastID++
	m := action.Meta{ID: s.lastID, Time: now}
	if s.opts.Observer != nil {
		s.opts.Observer.Input(m, a)
	}
	err := reducer.Enabled(s.st, a)
	s.apply(m, a, err)
	var local reducer.Locality
	if s.opts.CheckPeers {
		local.Add(a)
	}

	for s.head < len(s.queue) {
		q := s.queue[s.head]
		s.queue[s.head] = queued{}
		s.head++
		s.lastID++
		dm := action.Meta{ID: s.lastID, Time: now, Parent: q.parent}
		derr := reducer.Enabled(s.st, q.a)
		if s.opts.Observer != nil {
			s.opts.Observer.Derived(dm, q.a, derr != nil)
		}
		s.apply(dm, q.a, derr)
		if s.opts.CheckPeers {
			local.Add(q.a)
		}
	}
	s.queue, s.head = s.queue[:0], 0

	// Invariants hold between inputs (within one, a reducer may break a
	// limit that a derived action it queued restores), so they are
	// audited here: after every input if asked, otherwise after an input
	// during which a checkpoint was taken.
	switch {
	case s.opts.CheckInvariants || s.auditDue:
		s.auditDue = false
		s.audit(s.st.Check)
	case s.opts.CheckPeers:
		if peer, ok := local.Peer(); ok {
			// The input and all it caused touched one peer at most:
			// check what they could have broken.
			s.audit(func() error { return s.st.CheckPeer(peer) })
		} else {
			s.audit(s.st.CheckPeers)
		}
	}
	// Only now, with the whole input reduced and recorded, does the world
	// hear of it: the commands go to the service in the order the effects
	// produced them.
	if s.svc != nil {
		for _, c := range s.cmds {
			service.Execute(s.svc, c)
		}
	}
	clear(s.cmds)
	s.cmds = s.cmds[:0]
	clear(s.delivers)
	s.delivers = s.delivers[:0]
	return m, err
}

// apply runs an enabled action's reducer and effects, or counts it as
// dropped when its enabling condition failed with notEnabled.
func (s *Store) apply(m action.Meta, a action.Action, notEnabled error) {
	s.st.Counters.Actions++
	if notEnabled != nil {
		s.drop(a)
	} else {
		s.run(m, a)
	}
	if s.opts.AfterAction != nil {
		s.opts.AfterAction(s.st, m, a)
	}
	// Checkpoints fall every CheckpointEvery actions exactly, inside an
	// input too, so that an interval of 1 pins a divergence to its action.
	if s.opts.CheckpointEvery > 0 && m.ID-s.lastCheckpoint >= s.opts.CheckpointEvery {
		s.checkpoint()
	}
}

// run applies an enabled action: its reducer, its effects, and the
// commands they produced.
func (s *Store) run(m action.Meta, a action.Action) {
	s.current = m.ID
	first := len(s.cmds)
	if s.opts.Phases != nil {
		s.opts.Phases(PhaseReduce, m, a)
	}
	reducer.Reduce(s.st, m, a, s)
	if s.opts.Phases != nil {
		s.opts.Phases(PhaseEffects, m, a)
	}
	effects.Run(s.st, m, a, s, s)
	if s.opts.Phases != nil {
		s.opts.Phases(PhaseDone, m, a)
	}
	if s.opts.Intercept != nil {
		s.cmds = append(s.cmds[:first], s.opts.Intercept(s.st, m, a, s.cmds[first:])...)
	}
	if s.opts.Observer != nil && len(s.cmds) > first {
		s.opts.Observer.Commands(m, a, s.cmds[first:])
	}
}

func (s *Store) drop(a action.Action) {
	if d := s.st.Counters.Dropped; d != nil {
		d[a.Kind().String()]++
	}
}

// checkpoint hashes the state now, reports it to the observer, and has the
// invariants audited at the end of the input.
func (s *Store) checkpoint() {
	s.lastCheckpoint = s.lastID
	s.auditDue = !s.opts.CheckInvariants
	// Only a log needs the hashes (a simulation without one still audits
	// at checkpoints); hashing the whole state is not cheap.
	if s.opts.Observer != nil {
		h, sections := s.st.Hashes()
		s.opts.Observer.Checkpoint(s.lastID, h, sections)
	}
}

// Audit checks the invariants now, between inputs, as an audit after an
// input would: violations are counted, and the first of each kind goes to
// Options.OnViolation. A running node audits on every Tick.
func (s *Store) Audit() { s.audit(s.st.Check) }

func (s *Store) audit(check func() error) {
	err := check()
	if err == nil {
		return
	}
	s.violations++
	if s.firstViolation == nil {
		s.firstViolation = err
	}
	if s.opts.OnViolation == nil {
		return
	}
	for _, v := range state.Violations(err) {
		if s.seenRules[v.Rule] {
			continue
		}
		if s.seenRules == nil {
			s.seenRules = make(map[string]bool)
		}
		s.seenRules[v.Rule] = true
		s.opts.OnViolation(s.lastID, v)
	}
}
