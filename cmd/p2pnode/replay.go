package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

// stateFlag is --state or --state=PATH.
type stateFlag struct {
	set  bool
	path string
}

func (f *stateFlag) String() string   { return f.path }
func (f *stateFlag) IsBoolFlag() bool { return true }
func (f *stateFlag) Set(v string) error {
	f.set = true
	if v != "true" {
		f.path = v
	}
	return nil
}

func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", "LOG", stdout)
	trace := fs.Bool("trace", false, "print one line per action: ID, time, input/derived, kind, payload")
	to := fs.Uint64("to", 0, "stop after action `N`")
	diff := fs.Uint64("diff", 0, "print what action `N` changed in the state")
	check := fs.Bool("check", false, "check the state invariants after every input")
	var show stateFlag
	fs.Var(&show, "state", "print the state after --to N (or at the end); --state=PATH prints a subtree, e.g. Peers, Counters/Disconnects")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("want exactly one LOG file, got %d arguments", len(rest))
	}
	path := rest[0]

	rd, err := replay.Open(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	hdr := rd.Header()
	if hdr.Build != replay.BuildVersion() {
		fmt.Fprintf(stderr, "p2pnode replay: note: %s was written by %s; this is %s\n", path, hdr.Build, replay.BuildVersion())
	}
	r, err := replay.NewReplayer(rd, replay.Options{CheckInvariants: *check})
	if err != nil {
		return err
	}

	stop := *to
	if *diff > stop {
		stop = *diff
	}
	var (
		atStop, before, after *state.State
		diffEvent             *replay.Event
	)
	r.OnAction = func(ev replay.Event) {
		id := ev.Meta.ID
		if *trace && (stop == 0 || id <= stop) {
			fmt.Fprintln(stdout, traceLine(ev, hdr.StartTime))
		}
		// OnAction runs before an action applies: the state is the state
		// after the previous one.
		if *diff != 0 && id == *diff {
			before, diffEvent = r.State().Clone(), &ev
		}
		if *diff != 0 && id == *diff+1 && after == nil {
			after = r.State().Clone()
		}
		if stop != 0 && id == stop+1 && atStop == nil {
			atStop = r.State().Clone()
		}
	}

	var runErr error
	for {
		more, err := r.Step()
		if err != nil {
			runErr = err
			break
		}
		if !more || (stop != 0 && r.LastID() >= stop) {
			break
		}
	}
	var sum replay.Summary
	if runErr == nil && stop == 0 {
		sum, runErr = r.Finish()
	}
	if stop != 0 && runErr == nil && r.LastID() < stop {
		runErr = fmt.Errorf("the log ends at action #%d, before #%d", r.LastID(), stop)
	}
	if atStop == nil {
		atStop = r.State()
	}
	if *diff != 0 && before != nil {
		if after == nil {
			after = r.State()
		}
		kind := "derived"
		if diffEvent.Input {
			kind = "input"
		}
		fmt.Fprintf(stdout, "action #%d (%s): %s\n", *diff, kind, action.Format(diffEvent.Action))
		if d := replay.Diff(before, after); d != "" {
			fmt.Fprintf(stdout, "state change (-before +after):\n%s", d)
		} else {
			fmt.Fprintln(stdout, "no state change")
		}
	}
	if show.set {
		out, err := replay.StateJSON(atStop, show.path)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", out)
	}
	if runErr != nil {
		var div *replay.DivergenceError
		if errors.As(runErr, &div) {
			fmt.Fprintf(stderr, "p2pnode replay: %s: %v\n", path, runErr)
			explainDivergence(path, div, stderr)
			return errQuiet
		}
		return fmt.Errorf("%v (replayed and verified up to action #%d)", runErr, r.LastID())
	}
	if stop == 0 && !*trace && !show.set {
		fmt.Fprintf(stdout, "%s: verified %d inputs, %d derived actions, %d checkpoints; end hash matches (action #%d, state %s)\n",
			path, sum.Inputs, sum.Derived, sum.Checkpoints, sum.LastID, sum.Final.Short())
	}
	if sum.Violations > 0 {
		fmt.Fprintf(stderr, "p2pnode replay: %d invariant violations, the first: %v\n", sum.Violations, sum.FirstViolation)
		return errQuiet
	}
	return nil
}

// traceLine is one action of --trace.
func traceLine(ev replay.Event, start int64) string {
	role := "derived"
	if ev.Input {
		role = "input"
	}
	line := fmt.Sprintf("#%-8d %+13.6fs  %-7s %s", ev.Meta.ID, float64(ev.Meta.Time-start)/1e9, role, action.FormatShort(ev.Action))
	if !ev.Input {
		line += fmt.Sprintf("  ← #%d", ev.Meta.Parent)
	}
	if ev.NotEnabled != nil {
		line += "  (not enabled: " + ev.NotEnabled.Error() + ")"
	}
	return line
}

// explainDivergence replays the log again up to the input that diverged and
// shows what that input changed in the replayed state.
func explainDivergence(path string, div *replay.DivergenceError, w io.Writer) {
	rd, err := replay.Open(path)
	if err != nil {
		return
	}
	defer rd.Close()
	r, err := replay.NewReplayer(rd, replay.Options{})
	if err != nil {
		return
	}
	var before *state.State
	var input action.Action
	r.OnAction = func(ev replay.Event) {
		if ev.Meta.ID == div.Input {
			before, input = r.State().Clone(), ev.Action
		}
	}
	for r.LastID() < div.Input {
		if more, err := r.Step(); !more || err != nil {
			break
		}
	}
	if before == nil {
		return
	}
	fmt.Fprintf(w, "input #%d: %s\nwhat it changed in the replay (-before +after):\n%s",
		div.Input, action.Format(input), replay.Diff(before, r.State()))
}
