package replay

import (
	"errors"
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// A state-only divergence is seen at a checkpoint: the state matched at one
// and differs at the next, and every derived action and command between
// them matched. To find the action that made the difference, replay the
// log with the build that recorded it and with this one, hash the state
// after every action of that interval, and compare: the first action after
// which the section hashes differ is the one. SectionHashes is one side;
// `p2pnode replay --section-hashes` prints it, and `--bisect-with` runs the
// other build and compares.

// ActionHashes is the state after one action: its ID, its kind, and the
// hash of each state section.
type ActionHashes struct {
	ID       uint64
	Kind     action.Kind
	Sections []state.SectionHash
}

// SectionHashes replays the log at path through action to (0: to the end)
// and calls fn with the section hashes of the state after every action
// from from on. It stops early if fn returns false. A divergence or a
// damaged log ends the replay with its error, after fn has seen every
// action applied before it.
func SectionHashes(path string, from, to uint64, opts Options, fn func(ActionHashes) bool) error {
	rd, err := Open(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	stop := false
	user := opts.AfterAction
	opts.AfterAction = func(st *state.State, m action.Meta, a action.Action) {
		if user != nil {
			user(st, m, a)
		}
		if stop || m.ID < from || (to != 0 && m.ID > to) {
			return
		}
		_, sections := st.Hashes()
		if !fn(ActionHashes{ID: m.ID, Kind: a.Kind(), Sections: sections}) {
			stop = true
		}
	}
	r, err := NewReplayer(rd, opts)
	if err != nil {
		return err
	}
	for !stop && (to == 0 || r.LastID() < to) {
		more, err := r.Step()
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	return nil
}

// StateDifference is the first action after which two replays of one log
// hold different states.
type StateDifference struct {
	ID   uint64
	Kind action.Kind
	// Sections names the state sections that differ after it.
	Sections []string
}

// Error describes it, for a caller that treats it as a failure.
func (d *StateDifference) Error() string {
	return fmt.Sprintf("the state first differs after action #%d (%s), in %v", d.ID, d.Kind, d.Sections)
}

// CompareSectionHashes returns the first action at which two sequences of
// per-action section hashes differ, or nil if they agree on every action
// both have.
func CompareSectionHashes(a, b []ActionHashes) *StateDifference {
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		if x.ID != y.ID {
			return &StateDifference{ID: min(x.ID, y.ID), Kind: x.Kind, Sections: []string{"(action IDs differ)"}}
		}
		var differ []string
		for j := range max(len(x.Sections), len(y.Sections)) {
			switch {
			case j >= len(x.Sections):
				differ = append(differ, y.Sections[j].Name)
			case j >= len(y.Sections) || x.Sections[j].Sum != y.Sections[j].Sum:
				differ = append(differ, x.Sections[j].Name)
			}
		}
		if len(differ) > 0 {
			return &StateDifference{ID: x.ID, Kind: x.Kind, Sections: differ}
		}
	}
	return nil
}

// FirstStateDifference replays the log at path twice — once with a, once
// with b — over actions from through to, and returns the first action
// after which their states differ (nil if none). Tests use it with an
// Intercept standing in for a changed reducer; the CLI compares against
// another build's output instead.
func FirstStateDifference(path string, from, to uint64, a, b Options) (*StateDifference, error) {
	collect := func(opts Options) ([]ActionHashes, error) {
		var out []ActionHashes
		err := SectionHashes(path, from, to, opts, func(h ActionHashes) bool {
			out = append(out, h)
			return true
		})
		var div *DivergenceError
		if errors.As(err, &div) {
			err = nil // the replay diverged: the hashes up to there are what we want
		}
		return out, err
	}
	ha, err := collect(a)
	if err != nil {
		return nil, err
	}
	hb, err := collect(b)
	if err != nil {
		return nil, err
	}
	return CompareSectionHashes(ha, hb), nil
}
