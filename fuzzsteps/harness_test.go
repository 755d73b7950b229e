package fuzzsteps

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// noneReady is false: the seeds make peers Ready.
var noneReady = Invariant{
	Name: "no peer ever becomes Ready",
	Check: func(s *state.State) error {
		for _, id := range state.SortedKeys(s.Peers) {
			if s.Peers[id].Status == state.StatusReady {
				return fmt.Errorf("peer %s is Ready", id)
			}
		}
		return nil
	},
}

// TestFalseInvariant runs a false invariant over every seed: each failure
// must come with a log that verifies, a message with the commands for the
// right actions, and ReplayFile must find the same failure in the log.
func TestFalseInvariant(t *testing.T) {
	dir := t.TempDir()
	h := Harness{Invariants: []Invariant{noneReady}, LogDir: dir}
	found := 0
	for i, seed := range Seeds() {
		test := fmt.Sprintf("FuzzFalse/seed#%d", i)
		f, err := h.Run(test, seed)
		if err != nil {
			t.Fatalf("%s: %v", test, err)
		}
		if f == nil {
			continue
		}
		found++
		if f.Invariant != noneReady.Name || f.Input == 0 || f.Last < f.Input || f.Kind >= 32 || f.Err == nil {
			t.Fatalf("%s: failure %+v", test, f)
		}
		if want := filepath.Join(dir, fmt.Sprintf("FuzzFalse_seed_%d.log", i)); f.Log != want {
			t.Errorf("%s: log at %s, want %s", test, f.Log, want)
		}
		msg := f.Error()
		for _, want := range []string{
			fmt.Sprintf("invariant %q failed at input #%d (%s): %v", noneReady.Name, f.Input, f.Kind, f.Err),
			fmt.Sprintf("input #%d: %s\n", f.Input, f.Action),
			fmt.Sprintf("action log: %s ", f.Log),
			fmt.Sprintf("go test -run='^FuzzFalse$/^seed#%d$'", i),
			fmt.Sprintf("p2pnode replay --trace --to %d %s ", f.Last, f.Log),
			fmt.Sprintf("p2pnode replay --to %d --diff %d %s ", f.Input, f.Input, f.Log),
			fmt.Sprintf("p2pnode replay --to %d --state %s ", f.Last, f.Log),
			fmt.Sprintf("fuzzsteps.ReplayFile(%q", f.Log),
			`s"ready"`, // the diff shows the status change
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the message lacks %q:\n%s", test, want, msg)
			}
		}

		// The log is complete: it verifies, up to the failing input's last
		// action.
		sum, err := replay.VerifyFile(f.Log, replay.Options{CheckInvariants: true})
		if err != nil || !sum.Complete || sum.LastID != f.Last || sum.Violations != 0 {
			t.Errorf("%s: the log does not verify to #%d: %+v, %v", test, f.Last, sum, err)
		}
		// ReplayFile finds the same failure at the same input.
		got, err := ReplayFile(f.Log, noneReady)
		if err != nil || got == nil {
			t.Fatalf("%s: ReplayFile: %v, %v", test, got, err)
		}
		if got.Invariant != f.Invariant || got.Input != f.Input || got.Kind != f.Kind || got.Last != f.Last ||
			got.Action != f.Action || got.Err.Error() != f.Err.Error() || got.Log != f.Log || plain(got.Diff) != plain(f.Diff) {
			t.Errorf("%s: the harness found\n%+v\nReplayFile found\n%+v", test, *f, *got)
		}
		// Without the invariant, the log holds and verifies.
		if got, err := ReplayFile(f.Log); got != nil || err != nil {
			t.Errorf("%s: ReplayFile without the invariant: %v, %v", test, got, err)
		}
	}
	if found < len(Seeds())/2 {
		t.Errorf("only %d of %d seeds make a peer Ready", found, len(Seeds()))
	}
}

// plain undoes go-cmp's deliberately unstable spacing (it uses U+00A0
// at random, once per process, so that no one depends on its output).
func plain(diff string) string { return strings.ReplaceAll(diff, "\u00a0", " ") }

// TestTrueInvariant: the README's invariant holds on every seed, and the
// harness writes nothing.
func TestTrueInvariant(t *testing.T) {
	dir := t.TempDir()
	h := Harness{LogDir: dir, Invariants: []Invariant{{
		Name: "no peer is Ready without a completed handshake",
		Check: func(s *state.State) error {
			for _, id := range state.SortedKeys(s.Peers) {
				if p := s.Peers[id]; p.Status == state.StatusReady && !p.Handshake.Done {
					return fmt.Errorf("peer %s is Ready, its handshake is not done", id)
				}
			}
			return nil
		},
	}}}
	for i, seed := range Seeds() {
		if f, err := h.Run("FuzzTrue", seed); f != nil || err != nil {
			t.Fatalf("seed %d: %v, %v", i, f, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files written with nothing failing", len(entries))
	}
}

func TestLogDir(t *testing.T) {
	seed := Seeds()[4]
	run := func(h Harness, test string) *Failure {
		t.Helper()
		h.Invariants = []Invariant{noneReady}
		f, err := h.Run(test, seed)
		if err != nil || f == nil || f.Log == "" {
			t.Fatalf("%v, %v", f, err)
		}
		if _, err := os.Stat(f.Log); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// By default: testdata/fuzzsteps under the working directory, and
	// the message gives the absolute path.
	wd := t.TempDir()
	t.Chdir(wd)
	t.Setenv(LogDirEnv, "")
	if f, want := run(Harness{}, "FuzzA"), filepath.Join(wd, "testdata", "fuzzsteps", "FuzzA.log"); f.Log != want {
		t.Errorf("default: log at %s, want %s", f.Log, want)
	}
	// A second failure of the same test replaces the file whole.
	run(Harness{}, "FuzzA")
	if entries, _ := os.ReadDir(filepath.Join(wd, "testdata", "fuzzsteps")); len(entries) != 1 {
		t.Errorf("%d files in the log directory after two failures of one test, want 1", len(entries))
	}
	// The environment overrides the default, Harness.LogDir both.
	env := t.TempDir()
	t.Setenv(LogDirEnv, env)
	if f, want := run(Harness{}, "FuzzA/seed#4"), filepath.Join(env, "FuzzA_seed_4.log"); f.Log != want {
		t.Errorf("with $%s: log at %s, want %s", LogDirEnv, f.Log, want)
	}
	own := t.TempDir()
	if f, want := run(Harness{LogDir: own}, "FuzzA"), filepath.Join(own, "FuzzA.log"); f.Log != want {
		t.Errorf("with LogDir: log at %s, want %s", f.Log, want)
	}
}

func TestLogName(t *testing.T) {
	for in, want := range map[string]string{
		"FuzzX":                 "FuzzX.log",
		"FuzzX/seed#3":          "FuzzX_seed_3.log",
		"FuzzX/0123abcd":        "FuzzX_0123abcd.log",
		"TestA/sub_test/a b:c*": "TestA_sub_test_a_b_c_.log",
		"":                      "fuzzsteps.log",
	} {
		if got := logName(in); got != want {
			t.Errorf("logName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBuiltInMessage: a State.Check failure points at p2pnode replay
// --check; paths that need it are quoted for the shell.
func TestBuiltInMessage(t *testing.T) {
	f := &Failure{Invariant: BuiltIn, Err: errors.New("peer p1: ready without a completed handshake"),
		Input: 57, Last: 60, Kind: action.KindMessageReceived, Action: "MessageReceived …", Log: "/tmp/a b/FuzzX.log", Test: "FuzzX"}
	msg := f.Error()
	for _, want := range []string{
		"the built-in invariants (State.Check) failed at input #57 (MessageReceived): peer p1: ready without",
		"p2pnode replay --trace --to 60 '/tmp/a b/FuzzX.log'",
		"p2pnode replay --to 57 --diff 57 '/tmp/a b/FuzzX.log'",
		"p2pnode replay --check '/tmp/a b/FuzzX.log'",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "go test") {
		t.Errorf("a failure found while fuzzing (no corpus entry) names a go test command:\n%s", msg)
	}
}

func intercept(t *testing.T, fn func(st *state.State, m action.Meta, a action.Action, cmds []service.Command) []service.Command) {
	testIntercept = fn
	t.Cleanup(func() { testIntercept = nil })
}

// TestPanic: a reducer that panics is reported at its input, with a log
// that stops inside it and replays to the same panic.
func TestPanic(t *testing.T) {
	intercept(t, func(st *state.State, m action.Meta, a action.Action, cmds []service.Command) []service.Command {
		if a.Kind() == action.KindPeerReady {
			panic("boom")
		}
		return cmds
	})
	f, err := Harness{LogDir: t.TempDir()}.Run("FuzzPanic", Seeds()[4])
	if err != nil || f == nil {
		t.Fatalf("%v, %v", f, err)
	}
	if f.Invariant != Panic || f.Input != 4 || f.Kind != action.KindMessageReceived || !strings.Contains(f.Err.Error(), "boom") {
		t.Fatalf("failure %+v", f)
	}
	msg := f.Error()
	for _, want := range []string{
		"the store panicked at input #4 (MessageReceived): panic: boom\n",
		"p2pnode replay --trace " + f.Log,
		"runtime/debug.Stack", // the stack, last
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q:\n%s", want, msg)
		}
	}
	got, err := ReplayFile(f.Log)
	if err != nil || got == nil || got.Invariant != Panic || got.Input != f.Input || got.Kind != f.Kind || !strings.Contains(got.Err.Error(), "boom") {
		t.Fatalf("ReplayFile: %+v, %v", got, err)
	}
}

// TestNondeterminism: a rule that acts differently on the second run is
// caught at the input where the hashes part.
func TestNondeterminism(t *testing.T) {
	var first *state.State
	intercept(t, func(st *state.State, m action.Meta, a action.Action, cmds []service.Command) []service.Command {
		if first == nil {
			first = st
		}
		if st == first && a.Kind() == action.KindPeerReady {
			st.Counters.Actions += 1000
		}
		return cmds
	})
	f, err := Harness{LogDir: t.TempDir()}.Run("FuzzNondeterminism", Seeds()[4])
	if err != nil || f == nil {
		t.Fatalf("%v, %v", f, err)
	}
	if f.Invariant != Determinism || f.Input != 4 || f.Kind != action.KindMessageReceived {
		t.Fatalf("failure %+v", f)
	}
	if _, err := os.Stat(f.Log); err != nil {
		t.Error(err)
	}
}

// TestReplayDivergence: a log recorded by other rules than the replay's
// is caught at the action that differs, and ReplayFile finds it too.
func TestReplayDivergence(t *testing.T) {
	// The recorded runs do not send HelloAck; the replay does.
	intercept(t, func(st *state.State, m action.Meta, a action.Action, cmds []service.Command) []service.Command {
		if a.Kind() == action.KindHelloReceived {
			return nil
		}
		return cmds
	})
	f, err := Harness{LogDir: t.TempDir()}.Run("FuzzDivergence", Seeds()[4])
	if err != nil || f == nil {
		t.Fatalf("%v, %v", f, err)
	}
	var div *replay.DivergenceError
	if f.Invariant != Replay || f.Input != 4 || f.Last != 5 || !errors.As(f.Err, &div) {
		t.Fatalf("failure %+v", f)
	}
	if msg := f.Error(); !strings.Contains(msg, "p2pnode replay "+f.Log+" ") {
		t.Errorf("message:\n%s", msg)
	}
	testIntercept = nil
	got, err := ReplayFile(f.Log)
	if err != nil || got == nil || got.Invariant != Replay || got.Input != f.Input || got.Last != f.Last || got.Err.Error() != f.Err.Error() {
		t.Fatalf("ReplayFile: %+v, %v", got, err)
	}
}

func TestSetupErrors(t *testing.T) {
	if _, err := (Harness{Invariants: []Invariant{{Name: "nil"}}}).Run("x", nil); err == nil {
		t.Error("an invariant without Check was accepted")
	}
	cfg := DefaultConfig()
	cfg.MaxDialsPerTick = 0
	if _, err := (Harness{Config: cfg}).Run("x", nil); err == nil || !strings.Contains(err.Error(), "MaxDialsPerTick") {
		t.Errorf("a bad config: %v", err)
	}
	if _, err := ReplayFile(filepath.Join(t.TempDir(), "missing.log")); err == nil {
		t.Error("ReplayFile of a missing file: no error")
	}
}
