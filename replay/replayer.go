package replay

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// DivergenceError reports that a replay did not do what the log says the
// node did: the rules changed, or the run was not deterministic.
//
// When the derived actions or the commands differ, ID and Kind name the
// first action whose outcome differs — the action that queued a different
// derived action, or whose effects produced a different command — and
// Expected and Got show the first differing command. When only the state
// differs (every derived action and command matched), the divergence can
// only be seen at a checkpoint: StateOnly is set, and the state matched
// after action After and differs after action At, in Sections.
type DivergenceError struct {
	ID    uint64
	Kind  action.Kind
	Input uint64
	What  string
	// Expected is the first differing command as the log records it, Got
	// as the replay produced it; "" where one side has none.
	Expected, Got string

	StateOnly bool
	After, At uint64
	Sections  []string
}

// Error describes the failure.
func (e *DivergenceError) Error() string {
	if e.StateOnly {
		s := fmt.Sprintf("replay diverged in the state between action #%d and #%d (the state matched the log after #%d and differs after #%d", e.After+1, e.At, e.After, e.At)
		if e.After == 0 {
			s = fmt.Sprintf("replay diverged in the state between the start and action #%d (it differs after #%d", e.At, e.At)
		}
		s += "; every derived action and command matched): " + e.What
		if len(e.Sections) > 0 {
			s += "; differing state sections: " + strings.Join(e.Sections, ", ")
		}
		return s
	}
	s := fmt.Sprintf("replay diverged at action #%d (%s, caused by input #%d): %s", e.ID, e.Kind, e.Input, e.What)
	if e.Expected != "" || e.Got != "" {
		s += fmt.Sprintf("\n  expected (the log): %s\n  got (the replay):   %s", orNone(e.Expected), orNone(e.Got))
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// Event is one action as the replay applies it, passed to OnAction just
// before the action is applied.
type Event struct {
	Meta   action.Meta
	Action action.Action
	Input  bool
	// NotEnabled is why the action is a no-op, or nil.
	NotEnabled error
}

// Summary describes a finished replay.
type Summary struct {
	Inputs, Derived, Checkpoints uint64
	LastID                       uint64
	Final                        state.Hash
	// Complete is set when the log had its end record and its hash
	// matched.
	Complete bool
	// Violations counts inputs after which an invariant failed (with
	// CheckInvariants).
	Violations     uint64
	FirstViolation error
}

// Replayer feeds a log's input actions, at their recorded times, through
// the same store, reducers and effects that produced it, and checks every
// derived action, every command and every checkpoint against the log. The
// commands are only compared, never carried out.
type Replayer struct {
	rd    *Reader
	st    *store.Store
	clock replayClock

	next *Record // the next input record, read ahead
	// nextShared is the reader's table of shared strings before next,
	// once the feed reads (the Reader then belongs to its goroutine).
	nextShared []string
	end        *Record // the end record, once seen
	readErr    error   // a read error met while reading ahead

	// Records are read into a ring of reusable slots: the input being
	// applied, the one read ahead, and the group that follows each.
	slots    []Record
	slot     int
	group    []*Record // the records that followed the current input
	groupBuf []*Record // group's backing array from its start (expect pops group's front)
	// inCommands stands in the group for the commands an input's own
	// record holds (format 4).
	inCommands Record
	diverged   *DivergenceError
	current    uint64
	// kinds holds the kind of each action of the current input, indexed
	// by ID − current, to name an action a divergence is found after.
	kinds []action.Kind
	// lastCheckpoint is the last action after which the state matched
	// the log (0: the initial state, checked against the header).
	lastCheckpoint uint64
	checkCommands  bool
	digest         service.Digester
	cmdDigest      service.Digest // the digest of the command being checked
	// feed, once ReadAhead starts it, reads and decodes records on a
	// goroutine of its own; without it they are read here, into slots.
	feed *feed

	// OnAction, if set, is called before each action is applied.
	OnAction func(Event)
	// OnCommands, if set, is called with the commands an action's effects
	// produced, after the action is applied.
	OnCommands func(m action.Meta, a action.Action, cmds []service.Command)

	sum Summary
}

type replayClock struct{ t int64 }

func (c *replayClock) Now() int64 { return c.t }

// Options tune a replay.
type Options struct {
	// CheckInvariants runs State.Check after every input.
	CheckInvariants bool
	// AfterAction, if set, is called after every action is applied (or
	// dropped), with the state it left.
	AfterAction func(st *state.State, m action.Meta, a action.Action)
	// Intercept is store.Options.Intercept: tests use it to stand in for
	// a changed reducer or effect. It must not change a command's payload
	// in place (a replay knows the hash of an input's payload by the
	// slice: see service.Digester.KnowHash); a changed payload is a new
	// slice.
	Intercept func(st *state.State, m action.Meta, a action.Action, cmds []service.Command) []service.Command
}

// NewReplayer prepares a replay of the log read by rd: it rebuilds the
// initial state and checks it against the header.
func NewReplayer(rd *Reader, opts Options) (*Replayer, error) {
	h := rd.Header()
	st := h.InitialState()
	if got := st.Hash(); string(got[:]) != string(h.InitialHash) {
		return nil, fmt.Errorf("%s: the initial state rebuilt from the header hashes to %s, the log says %x (log written by %s, replayed by %s)",
			rd.name, got.Short(), h.InitialHash[:4], h.Build, BuildVersion())
	}
	r := &Replayer{rd: rd, checkCommands: h.Format >= 2}
	r.digest.Limit = h.Config.RecordPayloadLimit
	r.digest.Legacy = h.Format < 3
	r.digest.Separate = h.Format >= 4
	r.st = store.New(st, nil, &r.clock, store.Options{
		Observer:        (*verifier)(r),
		CheckpointEvery: h.CheckpointEvery,
		CheckInvariants: opts.CheckInvariants,
		Intercept:       opts.Intercept,
		AfterAction:     opts.AfterAction,
	})
	r.readAhead(nil)
	if len(r.group) > 0 {
		g := r.group[0]
		return nil, &CorruptError{Name: rd.name, Offset: g.Offset, Good: 1,
			What: fmt.Sprintf("a %s record before the first input", recordName(g.Type))}
	}
	return r, nil
}

// State is the replayed state after the last step.
func (r *Replayer) State() *state.State { return r.st.State() }

// LastID is the ID of the last action applied.
func (r *Replayer) LastID() uint64 { return r.st.LastID() }

// Header is the log's header.
func (r *Replayer) Header() Header { return r.rd.Header() }

// Offset is how far into the log file the replay has read, in bytes
// (for progress reports).
func (r *Replayer) Offset() int64 {
	if r.feed != nil {
		if r.next != nil {
			return r.next.Offset
		}
		off, _ := r.feed.offset()
		return off
	}
	return r.rd.Offset()
}

// readAhead reads records up to the next input, collecting what follows
// in, the current one (nil before the first): its commands first, if its
// own record holds them.
func (r *Replayer) readAhead(in *Record) {
	r.group = r.groupBuf[:0]
	if in != nil && len(in.Commands) > 0 {
		// As the commands record it stands for, so that the verifier
		// meets them where it meets a separate one.
		c := &r.inCommands
		c.Type, c.Offset, c.Meta, c.Kind, c.Commands = RecordCommands, in.Offset, in.Meta, in.Kind, in.Commands
		r.group = append(r.group, c)
		r.groupBuf = r.group[:0]
	}
	r.next = nil
	for r.readErr == nil {
		rec, err := r.read()
		if err == io.EOF {
			return
		}
		if err != nil {
			r.readErr = err
			return
		}
		switch rec.Type {
		case RecordInput:
			r.next = rec
			if r.feed != nil {
				r.nextShared = r.feed.sharedBefore(rec)
			}
			return
		case RecordEnd:
			end := *rec
			// Its own copy: the slot or batch it came from is reused.
			end.Sections = append([][8]byte(nil), rec.Sections...)
			r.end = &end
		default:
			r.group = append(r.group, rec)
			r.groupBuf = r.group[:0] // expect pops from the front
		}
	}
}

// read takes the next record from the feed, or reads it into a slot.
func (r *Replayer) read() (*Record, error) {
	if r.feed != nil {
		return r.feed.next()
	}
	rec := r.slotFor()
	return rec, r.rd.NextInto(rec)
}

// ReadAhead makes the replay read and decode the log on a goroutine of
// its own while Step applies it, which on two cores replays about twice as
// fast. Once it is called the Reader belongs to the replay; call Close if
// the replay is abandoned before Step returns false. Run reads ahead by
// itself.
func (r *Replayer) ReadAhead() { r.readAheadBy(feedBatch) }

// readAheadBy starts the feed with batches of size records.
func (r *Replayer) readAheadBy(size int) {
	if r.feed != nil {
		return
	}
	if r.next != nil {
		// Read before the feed took the Reader: the table as it was then
		// (see NextInput).
		r.nextShared = r.rd.dec.SharedPrefix(int(r.next.shared))
	}
	r.feed = startFeed(r.rd, size)
}

// Close stops reading ahead, if ReadAhead started it: call it when done.
// A Step after Close applies what was read ahead already and then reports
// that the replay was closed.
func (r *Replayer) Close() {
	if r.feed != nil {
		r.feed.close()
	}
}

// slotFor returns a record slot not in use by the current input, the one
// read ahead, or the group being collected.
func (r *Replayer) slotFor() *Record {
	need := len(r.group) + 3
	if len(r.slots) < need {
		r.slots = make([]Record, 2*need)
		// Slots moved: copy what is still referenced.
		r.slot = 0
		for i, g := range r.group {
			r.slots[r.slot] = *g
			r.group[i] = &r.slots[r.slot]
			r.slot++
		}
	}
	rec := &r.slots[r.slot%len(r.slots)]
	r.slot++
	return rec
}

// Step replays the next input action and all it caused. It returns false
// when there is nothing left; the error is a divergence, or a read error
// from a log that stops early or is corrupt.
func (r *Replayer) Step() (bool, error) {
	if r.diverged != nil {
		return false, r.diverged
	}
	in := r.next
	if in == nil {
		if r.readErr != nil {
			return false, r.readErr
		}
		return false, nil
	}
	// Read the records that follow this input before applying it, so the
	// verifier can compare as the store produces them. The group is
	// complete once the next input or the end record is seen; if the log
	// breaks before that, stop without applying this input.
	r.readAhead(in)
	if r.next == nil && r.end == nil && r.readErr != nil {
		return false, r.readErr
	}
	r.clock.t = in.Meta.Time
	r.current = in.Meta.ID
	r.kinds = append(r.kinds[:0], in.Kind)
	if in.hashed {
		r.digest.KnowHash(payloadOf(in.Action), in.payloadHash)
	}
	m, _ := r.st.Dispatch(in.Action)
	r.digest.Forget()
	r.sum.Inputs++
	if r.diverged == nil && m.ID != in.Meta.ID {
		r.diverge(m.ID, in.Kind, "the log gives this input ID #%d", in.Meta.ID)
	}
	if r.diverged == nil && len(r.group) > 0 {
		r.leftOver(r.group[0])
	}
	r.group = r.groupBuf[:0]
	if r.feed != nil {
		r.feed.release()
	}
	if r.diverged != nil {
		return false, r.diverged
	}
	return true, nil
}

// leftOver reports a record the log has for the current input that the
// replay did not produce, naming the action it belongs to.
func (r *Replayer) leftOver(g *Record) {
	switch g.Type {
	case RecordCommands:
		r.missingCommands(g)
	case RecordDerived:
		r.diverge(g.Meta.Parent, r.kindOf(g.Meta.Parent), "in the log it queued %s #%d; the replay queued nothing more", g.Kind, g.Meta.ID)
	case RecordCheckpoint:
		r.diverge(g.LastID, r.kindOf(g.LastID), "the log has a checkpoint after #%d that the replay did not take", g.LastID)
	default:
		r.diverge(g.Meta.ID, g.Kind, "the log has a %s record here that the replay did not produce", recordName(g.Type))
	}
}

// missingCommands reports commands the log has for an action whose effects,
// in the replay, produced none.
func (r *Replayer) missingCommands(g *Record) {
	r.diverge(g.Meta.ID, g.Kind, "in the log its effects produced %d commands; in the replay none", len(g.Commands))
	r.diverged.Expected = g.Commands[0].String()
}

// kindOf is the kind of an action of the current input.
func (r *Replayer) kindOf(id uint64) action.Kind {
	if id >= r.current && id-r.current < uint64(len(r.kinds)) {
		return r.kinds[id-r.current]
	}
	return 0
}

// Run replays the whole log and checks its end. A log that ends early is
// replayed up to its last complete input, and the error says so.
func (r *Replayer) Run() (Summary, error) {
	if r.feed == nil {
		r.ReadAhead()
		defer r.Close()
	}
	for {
		more, err := r.Step()
		if err != nil {
			return r.summary(), err
		}
		if !more {
			break
		}
	}
	return r.Finish()
}

// Finish checks the end record against the replayed state.
func (r *Replayer) Finish() (Summary, error) {
	sum := r.summary()
	if r.readErr != nil {
		return sum, r.readErr
	}
	if r.end == nil {
		off, good := r.rd.Offset(), r.rd.Good()
		if r.feed != nil {
			off, good = r.feed.offset()
		}
		return sum, &CorruptError{Name: r.rd.name, Offset: off, Good: good, Torn: true,
			What: "the log ends without its end record"}
	}
	if r.end.LastID != sum.LastID {
		return sum, &DivergenceError{ID: sum.LastID, Input: r.current,
			What: fmt.Sprintf("the log ends after action #%d, the replay after #%d", r.end.LastID, sum.LastID)}
	}
	if r.end.Hash != sum.Final {
		_, sections := r.st.State().Hashes()
		var differ []string
		for i, s := range sections {
			if i >= len(r.end.Sections) || r.end.Sections[i] != s.Sum {
				differ = append(differ, s.Name)
			}
		}
		return sum, &DivergenceError{StateOnly: true, After: r.lastCheckpoint, At: sum.LastID, Input: r.current, Sections: differ,
			What: fmt.Sprintf("final state hash %s, the log says %s", sum.Final.Short(), r.end.Hash.Short())}
	}
	sum.Complete = true
	return sum, nil
}

func (r *Replayer) summary() Summary {
	s := r.sum
	s.LastID = r.st.LastID()
	s.Final = r.st.State().Hash()
	s.Violations, s.FirstViolation = r.st.Violations()
	return s
}

func (r *Replayer) diverge(id uint64, k action.Kind, format string, args ...any) {
	if r.diverged == nil {
		r.diverged = &DivergenceError{ID: id, Kind: k, Input: r.current, What: fmt.Sprintf(format, args...)}
	}
}

// expect takes the next record the log has for the current input.
func (r *Replayer) expect() *Record {
	if len(r.group) == 0 {
		return nil
	}
	rec := r.group[0]
	r.group = r.group[1:]
	return rec
}

// peek is the next record the log has for the current input, left in place.
func (r *Replayer) peek() *Record {
	if len(r.group) == 0 {
		return nil
	}
	return r.group[0]
}

func recordName(t byte) string {
	switch t {
	case RecordInput:
		return "input"
	case RecordDerived:
		return "derived"
	case RecordCheckpoint:
		return "checkpoint"
	case RecordEnd:
		return "end"
	case RecordCommands:
		return "commands"
	}
	return fmt.Sprintf("type-%d", t)
}

// verifier is the Replayer seen as the store's observer.
type verifier Replayer

func (v *verifier) Input(m action.Meta, a action.Action) {
	r := (*Replayer)(v)
	if r.OnAction != nil {
		r.OnAction(Event{Meta: m, Action: a, Input: true, NotEnabled: reducer.Enabled(r.st.State(), a)})
	}
}

func (v *verifier) Derived(m action.Meta, a action.Action, dropped bool) {
	r := (*Replayer)(v)
	r.sum.Derived++
	if m.ID >= r.current {
		r.kinds = append(r.kinds, a.Kind())
	}
	if r.OnAction != nil {
		r.OnAction(Event{Meta: m, Action: a, NotEnabled: reducer.Enabled(r.st.State(), a)})
	}
	if r.diverged != nil {
		return
	}
	if rec := r.peek(); rec != nil && rec.Type == RecordCommands {
		// The log's previous action produced commands the replay's did not.
		r.missingCommands(rec)
		return
	}
	rec := r.expect()
	parent := m.Parent
	switch {
	case rec == nil || rec.Type != RecordDerived:
		r.diverge(parent, r.kindOf(parent), "in the replay it queued %s #%d; in the log it queued nothing more", a.Kind(), m.ID)
	case rec.Meta.Parent != m.Parent:
		// The earlier of the two parents is the first action whose
		// derived actions differ: it queued one more (or one fewer)
		// action in the replay than in the log.
		if rec.Meta.Parent < parent {
			r.diverge(rec.Meta.Parent, r.kindOf(rec.Meta.Parent), "in the log it queued %s #%d; in the replay it queued nothing more", rec.Kind, rec.Meta.ID)
		} else {
			r.diverge(parent, r.kindOf(parent), "in the replay it queued %s #%d; in the log it queued nothing more", a.Kind(), m.ID)
		}
	case rec.Kind != a.Kind() || rec.Meta.ID != m.ID:
		r.diverge(parent, r.kindOf(parent), "in the replay it queued %s #%d, in the log %s #%d", a.Kind(), m.ID, rec.Kind, rec.Meta.ID)
	case rec.Dropped != dropped:
		r.diverge(m.ID, a.Kind(), "the replay found it enabled=%v, the log says enabled=%v", !dropped, !rec.Dropped)
	}
}

func (v *verifier) Commands(m action.Meta, a action.Action, cmds []service.Command) {
	r := (*Replayer)(v)
	if r.OnCommands != nil {
		r.OnCommands(m, a, cmds)
	}
	if r.diverged != nil || !r.checkCommands {
		return
	}
	rec := r.peek()
	if rec == nil || rec.Type != RecordCommands {
		r.diverge(m.ID, a.Kind(), "in the replay its effects produced %d commands; in the log none", len(cmds))
		r.diverged.Got = service.FormatCommandNamed(cmds[0], r.names())
		return
	}
	r.expect()
	for i := range max(len(cmds), len(rec.Commands)) {
		var want, got string
		if i < len(cmds) {
			d := &r.cmdDigest
			r.digest.DigestTo(d, cmds[i])
			if i < len(rec.Commands) && *d == rec.Commands[i] {
				continue
			}
			got = service.FormatCommandNamed(cmds[i], r.names()) + " (" + d.String() + ")"
		}
		// Formatted only on a difference: this loop runs for every
		// command of a verified replay.
		if i < len(rec.Commands) {
			want = rec.Commands[i].String()
		}
		r.diverge(m.ID, a.Kind(), "command %d of %d (the log has %d) differs", i+1, len(cmds), len(rec.Commands))
		r.diverged.Expected, r.diverged.Got = want, got
		return
	}
}

func (v *verifier) Checkpoint(lastID uint64, h state.Hash, sections []state.SectionHash) {
	r := (*Replayer)(v)
	if r.diverged != nil {
		return
	}
	if rec := r.peek(); rec != nil && rec.Type == RecordCommands {
		r.missingCommands(rec)
		return
	}
	rec := r.expect()
	switch {
	case rec == nil || rec.Type != RecordCheckpoint:
		r.diverge(lastID, r.kindOf(lastID), "the replay took a checkpoint after #%d that the log does not have (the log's checkpoint interval differs)", lastID)
	case rec.LastID != lastID:
		r.diverge(lastID, r.kindOf(lastID), "checkpoint after #%d, the log has one after #%d", lastID, rec.LastID)
	case rec.Hash != h:
		var differ []string
		for i, s := range sections {
			if i >= len(rec.Sections) || rec.Sections[i] != s.Sum {
				differ = append(differ, s.Name)
			}
		}
		r.diverged = &DivergenceError{StateOnly: true, After: r.lastCheckpoint, At: lastID, Input: r.current, Sections: differ,
			What: fmt.Sprintf("state hash %s at the checkpoint, the log says %s", h.Short(), rec.Hash.Short())}
	default:
		r.sum.Checkpoints++
		r.lastCheckpoint = lastID
	}
}

// VerifyFile replays the log at path and checks it completely.
func VerifyFile(path string, opts Options) (Summary, error) {
	rd, err := Open(path)
	if err != nil {
		return Summary{}, err
	}
	defer rd.Close()
	r, err := NewReplayer(rd, opts)
	if err != nil {
		return Summary{}, err
	}
	return r.Run()
}

// IsTorn reports whether err is a log that stops early.
func IsTorn(err error) bool { return errors.Is(err, ErrNotComplete) }

// names names the log's channels in reports.
func (r *Replayer) names() action.Names {
	h := r.rd.Header()
	return action.NamesOf(&h.Config)
}
