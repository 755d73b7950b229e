package fuzzsteps

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

// ReplayFile replays the action log at path, verifying it as p2pnode
// replay does, and checks State.Check and invs after every input, as the
// Harness does. It returns the first failure: an invariant that fails (the
// Failure's Invariant is its Name, or BuiltIn), a replay that diverges from
// the log (Replay) or panics (Panic). A log the harness wrote for an
// invariant gives the same Invariant, Input, Kind and Last as the harness
// reported. It returns an error for a log it cannot read, and (nil, nil)
// when everything holds and the log verifies to its end.
//
// Any log works, not only the harness's: a recorded node run, a simulated
// node's log.
func ReplayFile(path string, invs ...Invariant) (*Failure, error) {
	for i, inv := range invs {
		if inv.Check == nil {
			return nil, fmt.Errorf("fuzzsteps: invariant %d (%q) has no Check", i, inv.Name)
		}
	}
	rd, err := replay.Open(path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	r, err := replay.NewReplayer(rd, replay.Options{Intercept: testIntercept})
	if err != nil {
		return nil, err
	}
	hdr := rd.Header()
	var cur input
	r.OnAction = func(ev replay.Event) {
		if ev.Input {
			cur = input{at: ev.Meta.Time, a: ev.Action, id: ev.Meta.ID}
		}
	}
	fail := func(name string, err error, last uint64) *Failure {
		f := &Failure{Invariant: name, Err: err, Log: path}
		if cur.a != nil {
			f.Input, f.Kind, f.Action, f.Last = cur.id, cur.a.Kind(), action.NamesOf(&hdr.Config).Format(cur.a), last
		}
		return f
	}
	for {
		more, err := step(r)
		var perr *panicError
		if errors.As(err, &perr) {
			return fail(Panic, perr, r.LastID()), nil
		}
		var div *replay.DivergenceError
		if errors.As(err, &div) {
			return fail(Replay, err, divergedAt(div)), nil
		}
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		if name, err := checkAll(r.State(), invs); err != nil {
			f := fail(name, err, r.LastID())
			if prev, err := stateBefore(path, cur.id); err == nil {
				f.Diff = replay.Diff(prev, r.State())
			}
			return f, nil
		}
	}
	if _, err := r.Finish(); err != nil {
		var div *replay.DivergenceError
		if errors.As(err, &div) {
			return fail(Replay, err, divergedAt(div)), nil
		}
		return nil, err
	}
	return nil, nil
}

// panicError is a recovered panic: its value, and the stack where it
// happened (Failure.Error prints it last).
type panicError struct{ value, stack string }

func (e *panicError) Error() string { return "panic: " + e.value }

// step replays one input, turning a panic into a panicError.
func step(r *replay.Replayer) (more bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{fmt.Sprint(p), string(debug.Stack())}
		}
	}()
	return r.Step()
}

// stateBefore replays the log at path up to the input id (not included)
// and returns the state it leaves.
func stateBefore(path string, id uint64) (*state.State, error) {
	rd, err := replay.Open(path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	r, err := replay.NewReplayer(rd, replay.Options{Intercept: testIntercept})
	if err != nil {
		return nil, err
	}
	// OnAction sees an input after its time is set: clone between inputs.
	reached := false
	r.OnAction = func(ev replay.Event) { reached = reached || ev.Meta.ID == id }
	prev := r.State().Clone()
	for {
		more, err := r.Step()
		if reached {
			return prev, nil
		}
		if err != nil || !more {
			return nil, fmt.Errorf("the log has no action #%d", id)
		}
		prev = r.State().Clone()
	}
}
