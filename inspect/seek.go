package inspect

import (
	"fmt"
	"io"
	"sort"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// Point is one action seen in full: the action, the state it was applied
// to (for an input, the state after the previous action with the clock
// moved to the input's time) and the state it left, and the commands its
// effects produced.
type Point struct {
	Meta     action.Meta
	Action   action.Action
	Dropped  bool
	Before   *state.State
	After    *state.State
	Commands []service.Command
	// Replayed is how many actions were replayed from the nearest
	// snapshot to get here.
	Replayed uint64
	// Group is everything the input that led to the action did: the input
	// and every action it caused, in order, each with its commands (at
	// most maxGroup of them).
	Group []Caused
}

// Caused is one action of an input's group.
type Caused struct {
	Meta     action.Meta
	Action   action.Action
	Dropped  bool
	Commands []service.Command
}

// maxGroup bounds the actions of a group kept by At.
const maxGroup = 2000

// At replays the log from the snapshot nearest before action id up to id,
// and returns that action with the state around it. It replays at most
// SnapshotEvery actions (plus the rest of id's input).
func (l *Log) At(id uint64) (*Point, error) {
	if id == 0 || id > l.Len() {
		return nil, fmt.Errorf("%s: no action #%d (the log has #1 to #%d)", l.Name, id, l.Len())
	}
	// The last snapshot taken before id.
	i := sort.Search(len(l.snaps), func(i int) bool { return l.snaps[i].id >= id }) - 1
	if i < 0 {
		return nil, fmt.Errorf("%s: no snapshot before action #%d", l.Name, id)
	}
	snap := l.snaps[i]
	rd, err := replay.OpenAt(l.Path, snap.pos)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	c := &capture{id: id, input: l.inputOf(id)}
	st := snap.st.Clone()
	s := store.New(st, nil, &c.clock, store.Options{Observer: c, AfterAction: c.after})
	s.SetLastID(snap.id)
	c.st = s
	var rec replay.Record
	for s.LastID() < id {
		err := rd.NextInto(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if rec.Type != replay.RecordInput {
			continue
		}
		c.clock.t = rec.Meta.Time
		s.Dispatch(rec.Action)
	}
	if c.p.After == nil {
		return nil, fmt.Errorf("%s: the replay from action #%d ended before #%d", l.Name, snap.id, id)
	}
	c.p.Replayed = s.LastID() - snap.id
	return &c.p, nil
}

// capture is the store's observer during a seek: it copies the state around
// the action it waits for.
type capture struct {
	id      uint64
	input   uint64 // the input whose group holds id
	inGroup bool   // the actions seen now belong to it
	st      *store.Store
	clock   fixedClock
	p       Point
}

type fixedClock struct{ t int64 }

func (c *fixedClock) Now() int64 { return c.t }

func (c *capture) Input(m action.Meta, a action.Action) { c.before(m, a, false) }

func (c *capture) Derived(m action.Meta, a action.Action, dropped bool) { c.before(m, a, dropped) }

func (c *capture) before(m action.Meta, a action.Action, dropped bool) {
	// The group is the input c.input and the derived actions after it,
	// up to the next input.
	if m.Parent == 0 {
		c.inGroup = m.ID == c.input
	}
	if c.inGroup && len(c.p.Group) < maxGroup {
		c.p.Group = append(c.p.Group, Caused{Meta: m, Action: a, Dropped: dropped})
	}
	if m.ID != c.id {
		return
	}
	c.p.Meta, c.p.Action, c.p.Dropped = m, a, dropped
	c.p.Before = c.st.State().Clone()
}

func (c *capture) Commands(m action.Meta, _ action.Action, cmds []service.Command) {
	if m.ID == c.id {
		c.p.Commands = service.Keep(cmds)
	}
	if g := c.p.Group; len(g) > 0 && g[len(g)-1].Meta.ID == m.ID {
		g[len(g)-1].Commands = service.Keep(cmds)
	}
}

func (c *capture) Checkpoint(uint64, state.Hash, []state.SectionHash) {}

func (c *capture) after(st *state.State, m action.Meta, _ action.Action) {
	if m.ID == c.id {
		c.p.After = st.Clone()
	}
}

// inputOf is the input whose group holds action id: its first ancestor.
func (l *Log) inputOf(id uint64) uint64 {
	for id > 0 && l.parents[id-1] != 0 {
		id = l.parents[id-1]
	}
	return id
}

// StateAt is the state after action id (0: the initial state).
func (l *Log) StateAt(id uint64) (*state.State, error) {
	if id == 0 {
		return l.Header.InitialState(), nil
	}
	p, err := l.At(id)
	if err != nil {
		return nil, err
	}
	return p.After, nil
}
