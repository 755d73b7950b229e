package fuzzsteps

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// Names under which the harness reports what is not a user's invariant.
const (
	// BuiltIn is State.Check, the invariants every state must satisfy.
	BuiltIn = "State.Check"
	// Determinism: the same inputs on a fresh store gave another state.
	Determinism = "determinism"
	// Replay: the recorded log did not replay and verify.
	Replay = "replay"
	// Panic: dispatching an input panicked.
	Panic = "panic"
)

// DefaultMaxSteps is the number of inputs a Harness with MaxSteps 0 runs
// at most.
const DefaultMaxSteps = 400

// DefaultLogDir is where a failing sequence's action log is written,
// relative to the test's working directory (its package directory), unless
// Harness.LogDir or the environment variable named by LogDirEnv says
// otherwise.
const DefaultLogDir = "testdata/fuzzsteps"

// LogDirEnv names the environment variable that overrides DefaultLogDir
// (Harness.LogDir, when set, takes precedence over it).
const LogDirEnv = "P2PCORE_FUZZSTEPS_DIR"

// checkpointEvery is the checkpoint interval of the logs the harness
// records: small, so that a replay that diverges in the state only is
// pinned to a few actions.
const checkpointEvery = 16

// Invariant is a property of the state that must hold after every input
// (that is, once the input and every action it caused have been applied;
// within an input a reducer may break a limit that a derived action
// restores).
type Invariant struct {
	// Name names the invariant in failure messages.
	Name string
	// Check returns an error describing the violation, or nil. It must
	// not change the state.
	Check func(s *state.State) error
}

// Harness runs a step-through fuzz test: it turns the fuzz input into
// input actions with a Generator, dispatches them one by one to a store
// over the pure core (no service: effects produce commands as data), and
// after every input checks State.Check and the Invariants. Then it checks
// that the run is deterministic (the same inputs on a fresh store give the
// same state hash after every input) and that its recorded action log
// replays and verifies.
//
// On the first failure it writes the action log, complete with its end
// record, to LogDir and fails the test with a message that names what
// failed, the input's action ID and kind, the log, and the p2pnode replay
// commands that show it. The zero Harness is ready to use.
type Harness struct {
	// Config is the node's configuration; the zero Config means
	// DefaultConfig().
	Config state.Config
	// Self is the node's identity; the zero Self (no ID) means
	// DefaultSelf().
	Self state.Self
	// Seed seeds the state's random number generator.
	Seed uint64
	// MaxSteps is the most inputs one fuzz input is turned into; 0 means
	// DefaultMaxSteps.
	MaxSteps int
	// Invariants are checked after every input, after State.Check, in
	// order.
	Invariants []Invariant
	// LogDir is where the action log of a failure is written. "" means
	// $P2PCORE_FUZZSTEPS_DIR if set, else DefaultLogDir.
	LogDir string
}

// AddSeeds adds Seeds to f's seed corpus, so that plain `go test` runs
// them (with the corpus under testdata/fuzz/<target>).
func (h Harness) AddSeeds(f *testing.F) {
	for _, s := range Seeds() {
		f.Add(s)
	}
}

// Fuzz runs one fuzz input through the harness and fails t on the first
// failure; it has the signature testing.F.Fuzz wants: f.Fuzz(h.Fuzz).
func (h Harness) Fuzz(t *testing.T, data []byte) {
	f, err := h.Run(t.Name(), data)
	if err != nil {
		t.Fatal(err)
	}
	if f != nil {
		t.Fatal(f.Error())
	}
}

// Failure is the first thing that went wrong in a sequence.
type Failure struct {
	// Invariant names what failed: an Invariant's Name, BuiltIn,
	// Determinism, Replay or Panic.
	Invariant string
	// Err is what the check said.
	Err error
	// Input is the ID of the input action after which the check failed,
	// Kind its kind and Action its text (action.Format).
	Input  uint64
	Kind   action.Kind
	Action string
	// Last is the ID of the last action the input caused (Input when it
	// caused none).
	Last uint64
	// Diff is what the input and everything it caused changed in the
	// state (-before +after), where there is one to show.
	Diff string
	// Log is the path of the action log that reproduces the failure; ""
	// if it could not be written (LogErr says why).
	Log    string
	LogErr error
	// Test is the name of the test that found the failure; "" from
	// ReplayFile.
	Test string
}

// maxDiffLines bounds the state diff a failure message shows.
const maxDiffLines = 40

// Error describes the failure, where its action log is, and the commands
// that reproduce and show it.
func (f *Failure) Error() string {
	var b strings.Builder
	what := fmt.Sprintf("invariant %q failed", f.Invariant)
	switch f.Invariant {
	case BuiltIn:
		what = "the built-in invariants (State.Check) failed"
	case Determinism:
		what = "the run was not deterministic"
	case Replay:
		what = "the recorded action log did not replay"
	case Panic:
		what = "the store panicked"
	}
	if f.Input != 0 {
		fmt.Fprintf(&b, "fuzzsteps: %s at input #%d (%s): %v\n", what, f.Input, f.Kind, f.Err)
		fmt.Fprintf(&b, "input #%d: %s\n", f.Input, f.Action)
	} else {
		fmt.Fprintf(&b, "fuzzsteps: %s: %v\n", what, f.Err)
	}
	if f.Log != "" {
		f.commands(&b)
	} else if f.LogErr != nil {
		fmt.Fprintf(&b, "no action log: %v\n", f.LogErr)
	}
	if f.Diff != "" {
		caused := ""
		switch n := f.Last - f.Input; {
		case n == 1:
			caused = " and the action it caused"
		case n > 1:
			caused = fmt.Sprintf(" and the %d actions it caused", n)
		}
		fmt.Fprintf(&b, "what input #%d%s changed (-before +after):\n", f.Input, caused)
		lines := strings.Split(strings.TrimRight(f.Diff, "\n"), "\n")
		if len(lines) > maxDiffLines {
			lines = append(lines[:maxDiffLines], fmt.Sprintf("… %d more lines (see --trace, --diff, --state above)", len(lines)-maxDiffLines))
		}
		b.WriteString(strings.Join(lines, "\n") + "\n")
	}
	var pe *panicError
	if errors.As(f.Err, &pe) {
		b.WriteString(pe.stack)
	}
	return strings.TrimRight(b.String(), "\n")
}

// commands writes where the log is and the commands that show the failure.
func (f *Failure) commands(b *strings.Builder) {
	log := shellQuote(f.Log)
	switch f.Invariant {
	case Panic:
		fmt.Fprintf(b, "action log: %s (ends inside input #%d, where it panicked)\n", f.Log, f.Input)
	case Determinism, Replay:
		fmt.Fprintf(b, "action log: %s (as the first run recorded it)\n", f.Log)
	default:
		fmt.Fprintf(b, "action log: %s (ends after input #%d and all it caused; it replays and verifies)\n", f.Log, f.Input)
	}
	b.WriteString("reproduce:\n")
	if test, entry, ok := strings.Cut(f.Test, "/"); ok {
		fmt.Fprintf(b, "  go test -run='^%s$/^%s$'    # rerun this corpus entry (in its package directory)\n", test, entry)
	}
	switch f.Invariant {
	case Panic:
		fmt.Fprintf(b, "  p2pnode replay --trace %s    # every action, up to the panic\n", log)
	case Determinism, Replay:
		fmt.Fprintf(b, "  p2pnode replay %s    # replay and verify; names the first action that differs\n", log)
		if f.Input != 0 {
			fmt.Fprintf(b, "  p2pnode replay --to %d --diff %d %s    # what input #%d did\n", f.Input, f.Input, log, f.Input)
		}
	default:
		fmt.Fprintf(b, "  p2pnode replay --trace --to %d %s    # every action up to the failure\n", f.Last, log)
		fmt.Fprintf(b, "  p2pnode replay --to %d --diff %d %s    # what input #%d itself did\n", f.Input, f.Input, log, f.Input)
		fmt.Fprintf(b, "  p2pnode replay --to %d --state %s    # the state it left\n", f.Last, log)
		if f.Invariant == BuiltIn {
			fmt.Fprintf(b, "  p2pnode replay --check %s    # reports the violation\n", log)
		} else {
			fmt.Fprintf(b, "  fuzzsteps.ReplayFile(%q, <invariant %q>)    # the same failure, from Go\n", f.Log, f.Invariant)
		}
	}
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// input is one generated action, the clock reading it was dispatched at,
// and the ID the store gave it.
type input struct {
	at int64
	a  action.Action
	id uint64
}

type fixedClock struct{ t int64 }

func (c *fixedClock) Now() int64 { return c.t }

func (h Harness) config() (state.Config, state.Self) {
	cfg, self := h.Config, h.Self
	if cfg.Network == "" {
		cfg = DefaultConfig()
	}
	if self.ID == "" {
		self = DefaultSelf()
	}
	return cfg, self
}

func (h Harness) logDir() string {
	if h.LogDir != "" {
		return h.LogDir
	}
	if d := os.Getenv(LogDirEnv); d != "" {
		return d
	}
	return DefaultLogDir
}

// Run runs data through the harness, as Fuzz does, outside a test: it
// returns the first failure, its action log written to the log directory
// in a file named after test, or an error if the harness is set up wrong
// or the log cannot record an input. (nil, nil) means every check held.
func (h Harness) Run(test string, data []byte) (*Failure, error) {
	cfg, self := h.config()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fuzzsteps: Harness.Config: %w", err)
	}
	for i, inv := range h.Invariants {
		if inv.Check == nil {
			return nil, fmt.Errorf("fuzzsteps: Harness.Invariants[%d] (%q) has no Check", i, inv.Name)
		}
	}
	maxSteps := h.MaxSteps
	if maxSteps <= 0 {
		maxSteps = DefaultMaxSteps
	}
	fresh := func() *state.State { return state.New(cfg, self, h.Seed, Epoch) }

	var log bytes.Buffer
	st := fresh()
	w, err := replay.NewWriter(&log, replay.NewHeader(st, h.Seed, checkpointEvery))
	if err != nil {
		return nil, err
	}
	clock := &fixedClock{t: Epoch}
	s := store.New(st, nil, clock, store.Options{Observer: w, CheckpointEvery: checkpointEvery, Intercept: testIntercept})
	g := NewGenerator(data)
	var inputs []input
	var hashes []state.Hash
	for i := 0; i < maxSteps && !g.Done(); i++ {
		step, a := g.Next(s.State())
		clock.t += int64(step)
		in := input{at: clock.t, a: a, id: s.LastID() + 1}
		inputs = append(inputs, in)
		if perr := dispatch(s, a); perr != nil {
			endAfterPanic(w, s)
			f := newFailure(&cfg, Panic, perr, in, s.LastID())
			h.save(f, test, log.Bytes())
			return f, nil
		}
		if name, err := checkAll(s.State(), h.Invariants); err != nil {
			if err := end(w, s); err != nil {
				return nil, err
			}
			f := newFailure(&cfg, name, err, in, s.LastID())
			f.Diff = replay.Diff(before(fresh(), inputs[:i]), s.State())
			h.save(f, test, log.Bytes())
			return f, nil
		}
		hashes = append(hashes, s.State().Hash())
	}
	if err := end(w, s); err != nil {
		return nil, err
	}

	// The same inputs on a fresh store give the same hash after each.
	clock2 := &fixedClock{}
	s2 := store.New(fresh(), nil, clock2, store.Options{CheckpointEvery: checkpointEvery, Intercept: testIntercept})
	for i, in := range inputs {
		clock2.t = in.at
		s2.Dispatch(in.a)
		if got := s2.State().Hash(); got != hashes[i] {
			f := newFailure(&cfg, Determinism, fmt.Errorf("the same inputs on a fresh store give state %s after it, the first run gave %s",
				got.Short(), hashes[i].Short()), in, s2.LastID())
			h.save(f, test, log.Bytes())
			return f, nil
		}
	}

	// The recorded log replays and verifies.
	if err := verify(log.Bytes()); err != nil {
		f := &Failure{Invariant: Replay, Err: err}
		var div *replay.DivergenceError
		if errors.As(err, &div) {
			for _, in := range inputs {
				if in.id == div.Input {
					f = newFailure(&cfg, Replay, err, in, divergedAt(div))
				}
			}
		}
		h.save(f, test, log.Bytes())
		return f, nil
	}
	return nil, nil
}

// testIntercept, set only by this package's tests, stands in for a
// changed reducer or effect (store.Options.Intercept) in the harness's runs
// and in ReplayFile, but not in the harness's own check that the log
// replays, so that tests can make each check fail.
var testIntercept func(st *state.State, m action.Meta, a action.Action, cmds []service.Command) []service.Command

// divergedAt is the action a divergence is seen at.
func divergedAt(div *replay.DivergenceError) uint64 {
	if div.StateOnly {
		return div.At
	}
	return div.ID
}

func newFailure(cfg *state.Config, name string, err error, in input, last uint64) *Failure {
	return &Failure{Invariant: name, Err: err, Input: in.id, Kind: in.a.Kind(), Action: action.NamesOf(cfg).Format(in.a), Last: last}
}

// end closes the log with its end record: the last action ID and the
// state's hash and section hashes.
func end(w *replay.Writer, s *store.Store) error {
	h, sections := s.State().Hashes()
	return w.End(s.LastID(), h, sections)
}

// endAfterPanic ends the log of a store whose last input panicked. The
// end record holds the state the panic left, mid-input: a replay applies
// the input and panics the same way before it gets there (a log without an
// end record would not do: a replay does not apply a last input whose
// records may be incomplete). If even hashing that state panics, the log
// is left without its end record.
func endAfterPanic(w *replay.Writer, s *store.Store) {
	defer func() {
		if recover() != nil {
			w.Flush()
		}
	}()
	end(w, s)
}

// dispatch dispatches a, turning a panic into an error with its stack.
func dispatch(s *store.Store, a action.Action) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{fmt.Sprint(r), string(debug.Stack())}
		}
	}()
	s.Dispatch(a)
	return nil
}

// checkAll runs State.Check, then each invariant, and returns the first
// that fails.
func checkAll(s *state.State, invs []Invariant) (string, error) {
	if err := s.Check(); err != nil {
		return BuiltIn, err
	}
	for _, inv := range invs {
		if err := inv.Check(s); err != nil {
			return inv.Name, err
		}
	}
	return "", nil
}

// before rebuilds the state before an input: st with inputs applied.
func before(st *state.State, inputs []input) *state.State {
	clock := &fixedClock{}
	s := store.New(st, nil, clock, store.Options{Intercept: testIntercept})
	for _, in := range inputs {
		clock.t = in.at
		s.Dispatch(in.a)
	}
	return s.State()
}

func verify(log []byte) error {
	rd, err := replay.NewReader(bytes.NewReader(log), int64(len(log)), "fuzzsteps.log")
	if err != nil {
		return err
	}
	r, err := replay.NewReplayer(rd, replay.Options{})
	if err != nil {
		return err
	}
	_, err = r.Run()
	return err
}

// save writes the action log of a failure to the log directory, in a file
// named after the test, replacing any earlier one whole; it records the
// path (or why there is none) in f.
func (h Harness) save(f *Failure, test string, log []byte) {
	f.Test = test
	path, err := writeLog(h.logDir(), logName(test), log)
	if err != nil {
		f.LogErr = err
		return
	}
	f.Log = path
}

// logName is the file name of a test's action log: its name with every
// character other than letters, digits, '.', '_' and '-' replaced by '_'
// (FuzzX/seed#3 → FuzzX_seed_3.log).
func logName(test string) string {
	if test == "" {
		test = "fuzzsteps"
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, test) + ".log"
}

// writeLog writes data to dir/name through a temporary file and a rename,
// so that a reader (or another fuzzing worker writing the same name)
// never sees half a log. It returns the absolute path.
func writeLog(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return "", err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	path := filepath.Join(dir, name)
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return "", werr
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path, nil
}
