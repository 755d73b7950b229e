package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/internal/progress"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
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
	fs := newFlags("replay", "LOG | LOG… | DIR", stdout)
	trace := fs.Bool("trace", false, "print one line per action: ID, time, input/derived, kind, payload")
	to := fs.Uint64("to", 0, "stop after action `N`")
	diff := fs.Uint64("diff", 0, "print what action `N` changed in the state")
	check := fs.Bool("check", false, "check the state invariants after every input")
	hashes := fs.String("section-hashes", "", "print the hash of every state section after each action in `FROM-TO` (for comparing two builds)")
	bisect := fs.String("bisect-with", "", "on a state-only divergence, run the p2pnode `BINARY` of the build that wrote the log over the same interval and name the first action whose state differs")
	var show stateFlag
	fs.Var(&show, "state", "print the state after --to N (or at the end); --state=PATH prints a subtree, e.g. Peers, Counters/Disconnects")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("want a LOG file (or several, or a directory of them)")
	}
	if len(rest) > 1 || isDir(rest[0]) {
		given := ""
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "check" && given == "" {
				given = f.Name
			}
		})
		if given != "" {
			return usagef("--%s looks into one log: give one LOG file", given)
		}
		return verifyLogs(rest, *check, stdout, stderr)
	}
	path := rest[0]
	if *hashes != "" {
		from, to, err := parseIDRange(*hashes)
		if err != nil {
			return usagef("--section-hashes %q: %v", *hashes, err)
		}
		return printSectionHashes(path, from, to, stdout)
	}

	rd, err := replay.Open(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	hdr := rd.Header()
	names := action.NamesOf(&hdr.Config)
	if hdr.Build != replay.BuildVersion() {
		fmt.Fprintf(stderr, "p2pnode replay: note: %s was written by %s; this is %s\n", path, hdr.Build, replay.BuildVersion())
	}
	r, err := replay.NewReplayer(rd, replay.Options{CheckInvariants: *check})
	if err != nil {
		return err
	}
	// Decode on a second core while this one applies, with the collector
	// set for throughput: together about twice as fast on two cores.
	replay.TuneGC()
	r.ReadAhead()
	defer r.Close()

	stop := *to
	if *diff > stop {
		stop = *diff
	}
	var (
		atStop, before, after *state.State
		diffEvent             *replay.Event
	)
	if *trace {
		r.OnCommands = func(m action.Meta, _ action.Action, cmds []service.Command) {
			if stop == 0 || m.ID <= stop {
				for _, c := range cmds {
					fmt.Fprintf(stdout, "%-9s %14s  %-7s   → %s\n", "", "", "", service.FormatCommandNamed(c, names))
				}
			}
		}
	}
	r.OnAction = func(ev replay.Event) {
		id := ev.Meta.ID
		if *trace && (stop == 0 || id <= stop) {
			fmt.Fprintln(stdout, traceLine(ev, hdr.StartTime, names))
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
	meter := progress.New(stderr, "replay "+filepath.Base(path), float64(fileSize(path)), progress.Bytes)
	for step := 0; ; step++ {
		if step%4096 == 0 {
			meter.Update(float64(r.Offset()))
		}
		more, err := r.Step()
		if err != nil {
			runErr = err
			break
		}
		if !more || (stop != 0 && r.LastID() >= stop) {
			break
		}
	}
	meter.Done()
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
		fmt.Fprintf(stdout, "action #%d (%s): %s\n", *diff, kind, names.Format(diffEvent.Action))
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
			if div.StateOnly && *bisect != "" {
				if err := bisectWith(*bisect, path, div, stderr); err != nil {
					fmt.Fprintf(stderr, "p2pnode replay: --bisect-with: %v\n", oneLine(err))
				}
			} else {
				explainDivergence(path, div, stderr)
			}
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

// verifyLogs verifies every log named, a directory standing for the .log
// files in it (as p2pnode sim --record and the demos leave them): one
// line each, going on past a failure, and an error if any failed.
func verifyLogs(args []string, check bool, stdout, stderr io.Writer) error {
	var paths []string
	for _, a := range args {
		if !isDir(a) {
			paths = append(paths, a)
			continue
		}
		logs, err := filepath.Glob(filepath.Join(a, "*.log"))
		if err != nil {
			return err
		}
		if len(logs) == 0 {
			return fmt.Errorf("%s: no .log files in the directory", a)
		}
		paths = append(paths, logs...) // Glob sorts them
	}
	failed := 0
	for _, p := range paths {
		err := runReplay([]string{"--check=" + strconv.FormatBool(check), "--", p}, stdout, stderr)
		if err == errQuiet {
			failed++ // the replay said why
		} else if err != nil {
			failed++
			fmt.Fprintf(stderr, "p2pnode replay: %v\n", err)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "p2pnode replay: %d of %d logs failed\n", failed, len(paths))
		return errQuiet
	}
	if len(paths) > 1 {
		fmt.Fprintf(stdout, "all %d logs verified\n", len(paths))
	}
	return nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// traceLine is one action of --trace.
func traceLine(ev replay.Event, start int64, names action.Names) string {
	role := "derived"
	if ev.Input {
		role = "input"
	}
	line := fmt.Sprintf("#%-8d %+13.6fs  %-7s %s", ev.Meta.ID, float64(ev.Meta.Time-start)/1e9, role, names.FormatShort(ev.Action))
	if !ev.Input {
		line += fmt.Sprintf("  ← #%d", ev.Meta.Parent)
	}
	if ev.NotEnabled != nil {
		line += "  (not enabled: " + ev.NotEnabled.Error() + ")"
	}
	return line
}

// explainDivergence shows what the diverging action did in the replay: the
// action, the commands its effects produced and the state change it made.
// A state-only divergence has no action to show: it says how to narrow it.
func explainDivergence(path string, div *replay.DivergenceError, w io.Writer) {
	if div.StateOnly {
		fmt.Fprintf(w, "to find the action: rerun with --bisect-with <p2pnode of the build that wrote the log>, "+
			"which compares the state after every action #%d..#%d with that build's; "+
			"or record with a smaller --checkpoint-every\n", div.After+1, div.At)
		return
	}
	rd, err := replay.Open(path)
	if err != nil {
		return
	}
	defer rd.Close()
	r, err := replay.NewReplayer(rd, replay.Options{})
	if err != nil {
		return
	}
	hdr := rd.Header()
	names := action.NamesOf(&hdr.Config)
	var before, after *state.State
	var act action.Action
	var cmds []string
	r.OnAction = func(ev replay.Event) {
		switch ev.Meta.ID {
		case div.ID:
			before, act = r.State().Clone(), ev.Action
		case div.ID + 1:
			if after == nil {
				after = r.State().Clone()
			}
		}
	}
	r.OnCommands = func(m action.Meta, _ action.Action, cs []service.Command) {
		if m.ID == div.ID {
			for _, c := range cs {
				cmds = append(cmds, service.FormatCommandNamed(c, names))
			}
		}
	}
	for r.LastID() < div.ID {
		if more, err := r.Step(); !more || err != nil {
			break
		}
	}
	if before == nil {
		return
	}
	if after == nil {
		after = r.State()
	}
	fmt.Fprintf(w, "action #%d: %s\n", div.ID, names.Format(act))
	if len(cmds) > 0 {
		fmt.Fprintf(w, "its commands in the replay:\n")
		for _, c := range cmds {
			fmt.Fprintf(w, "  → %s\n", c)
		}
	}
	if d := replay.Diff(before, after); d != "" {
		fmt.Fprintf(w, "what it changed in the replay (-before +after):\n%s", d)
	}
}

// parseIDRange reads "FROM-TO" (action IDs, FROM ≤ TO).
func parseIDRange(s string) (uint64, uint64, error) { return parseRangeOf(s, "action IDs") }

// parseRangeOf reads "FROM-TO", two whole numbers with 1 ≤ FROM ≤ TO;
// what names them in the error.
func parseRangeOf(s, what string) (uint64, uint64, error) {
	a, b, ok := strings.Cut(s, "-")
	from, err1 := strconv.ParseUint(a, 10, 64)
	to, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || from == 0 || to < from {
		return 0, 0, fmt.Errorf("want FROM-TO, two %s with 1 ≤ FROM ≤ TO", what)
	}
	return from, to, nil
}

// sectionHashesHeader opens the --section-hashes output; its lines are
// "#ID Kind name=hash …", one per action.
const sectionHashesHeader = "# p2pcore section hashes v1"

func printSectionHashes(path string, from, to uint64, w io.Writer) error {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintln(bw, sectionHashesHeader)
	err := replay.SectionHashes(path, from, to, replay.Options{}, func(h replay.ActionHashes) bool {
		fmt.Fprintf(bw, "#%d %s", h.ID, h.Kind)
		for _, s := range h.Sections {
			fmt.Fprintf(bw, " %s=%x", s.Name, s.Sum)
		}
		bw.WriteByte('\n')
		return true
	})
	var div *replay.DivergenceError
	if errors.As(err, &div) {
		// The hashes up to the divergence are what a comparison needs.
		fmt.Fprintf(bw, "# stopped: %v\n", oneLine(err))
		return nil
	}
	return err
}

// parseSectionHashes reads printSectionHashes' output.
func parseSectionHashes(out []byte) ([]replay.ActionHashes, error) {
	var hs []replay.ActionHashes
	lines := strings.Split(string(out), "\n")
	if len(lines) == 0 || lines[0] != sectionHashesHeader {
		return nil, fmt.Errorf("its output does not start with %q", sectionHashesHeader)
	}
	for _, line := range lines[1:] {
		if line == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "#") {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		id, err := strconv.ParseUint(f[0][1:], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		k, _ := action.KindByName(f[1])
		h := replay.ActionHashes{ID: id, Kind: k}
		for _, kv := range f[2:] {
			name, hexSum, ok := strings.Cut(kv, "=")
			var sum [8]byte
			if b, err := hex.DecodeString(hexSum); !ok || err != nil || len(b) != len(sum) {
				return nil, fmt.Errorf("unexpected section %q", kv)
			} else {
				copy(sum[:], b)
			}
			h.Sections = append(h.Sections, state.SectionHash{Name: name, Sum: sum})
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// bisectWith narrows a state-only divergence to one action: it has the
// other build print its per-action section hashes over the interval,
// computes this build's, and shows the first action where they differ —
// with what that action changed in each build's replay.
func bisectWith(bin, path string, div *replay.DivergenceError, w io.Writer) error {
	from, to := div.After+1, div.At
	rangeArg := fmt.Sprintf("%d-%d", from, to)
	out, err := exec.Command(bin, "replay", "--section-hashes", rangeArg, path).Output()
	if err != nil {
		return fmt.Errorf("%s replay --section-hashes %s: %v", bin, rangeArg, err)
	}
	theirs, err := parseSectionHashes(out)
	if err != nil {
		return fmt.Errorf("%s: %v", bin, err)
	}
	var ours []replay.ActionHashes
	err = replay.SectionHashes(path, from, to, replay.Options{}, func(h replay.ActionHashes) bool {
		ours = append(ours, h)
		return true
	})
	var de *replay.DivergenceError
	if err != nil && !errors.As(err, &de) {
		return err
	}
	d := replay.CompareSectionHashes(theirs, ours)
	if d == nil {
		return fmt.Errorf("the two builds agree on every action #%d..#%d (%d and %d compared)", from, to, len(theirs), len(ours))
	}
	fmt.Fprintf(w, "the first action after which the state differs: #%d (%s), in %s\n", d.ID, d.Kind, strings.Join(d.Sections, ", "))
	if other, err := exec.Command(bin, "replay", "--diff", strconv.FormatUint(d.ID, 10), path).Output(); err == nil {
		fmt.Fprintf(w, "--- what it changed with %s:\n%s", bin, other)
	}
	var mine bytes.Buffer
	runReplay([]string{"--diff", strconv.FormatUint(d.ID, 10), path}, &mine, io.Discard)
	fmt.Fprintf(w, "--- what it changed with this build:\n%s", mine.Bytes())
	return nil
}

// fileSize is the size of the file at path, or 0.
func fileSize(path string) int64 {
	if st, err := os.Stat(path); err == nil {
		return st.Size()
	}
	return 0
}
