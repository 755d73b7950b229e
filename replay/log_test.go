package replay_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/sim"
	"github.com/p2pcore/p2pcore/state"
)

// smallConfig is a two-node, two-second simulation with tiny messages and
// frequent checkpoints: each node's log is about 3 KB and holds inputs,
// derived actions, checkpoints and an end record, small enough to cut and
// corrupt at every byte.
var smallConfig = sim.Config{
	Nodes: 2, Seed: 7, Duration: 2 * time.Second,
	TxRate: 20, TxSize: 16, BlockSize: 16, CheckpointEvery: 32,
}

// smallNode is the node whose log the byte-level tests use: node 1 dials
// the bootnode, so its log holds a Connected input.
const smallNode = 1

var (
	smallOnce sync.Once
	smallData []byte
	smallErr  error
)

// smallLog returns a copy of the small complete log.
func smallLog(tb testing.TB) []byte {
	tb.Helper()
	smallOnce.Do(func() { smallData, smallErr = simLog(smallConfig, smallNode) })
	if smallErr != nil {
		tb.Fatal(smallErr)
	}
	return bytes.Clone(smallData)
}

// simLog runs a simulation and returns the log of one node.
func simLog(cfg sim.Config, node int) ([]byte, error) {
	dir, err := os.MkdirTemp("", "p2pcore-replay-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg.RecordDir = dir
	s, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := s.Run(); err != nil {
		return nil, err
	}
	return os.ReadFile(s.Nodes[node].Path)
}

// frame is one record as found by an independent walk over the framing.
type frame struct {
	Start, Body, End int // record start, type byte, one past the end
	Type             byte
}

// frames splits a well-formed log into its records without using the
// package's reader.
func frames(tb testing.TB, data []byte) []frame {
	tb.Helper()
	if !bytes.HasPrefix(data, []byte(replay.Magic)) {
		tb.Fatalf("log does not start with the magic")
	}
	var out []frame
	for off := len(replay.Magic); off < len(data); {
		if len(data)-off < 6 {
			tb.Fatalf("record at %d: only %d bytes left", off, len(data)-off)
		}
		n, k := binary.Uvarint(data[off+4:])
		if k <= 0 || n == 0 || n > uint64(len(data)-off-4-k) {
			tb.Fatalf("record at %d: bad length", off)
		}
		body := off + 4 + k
		out = append(out, frame{Start: off, Body: body, End: body + int(n), Type: data[body]})
		off = body + int(n)
	}
	if len(out) < 3 || out[0].Type != replay.RecordHeader || out[len(out)-1].Type != replay.RecordEnd {
		tb.Fatalf("log of %d records does not run from a header to an end record", len(out))
	}
	return out
}

// frameAt is the index of the record holding byte pos, or -1 for the magic.
func frameAt(fs []frame, pos int) int {
	for i, f := range fs {
		if pos >= f.Start && pos < f.End {
			return i
		}
	}
	return -1
}

// stage names the step of a replay that returned.
type stage string

const (
	stageOpen     stage = "open"
	stageReplayer stage = "new replayer"
	stageRun      stage = "run"
)

// replayReader replays the log read by rd.
func replayReader(rd *replay.Reader, err error, opts replay.Options) (stage, replay.Summary, error) {
	if err != nil {
		return stageOpen, replay.Summary{}, err
	}
	defer rd.Close()
	r, err := replay.NewReplayer(rd, opts)
	if err != nil {
		return stageReplayer, replay.Summary{}, err
	}
	sum, err := r.Run()
	return stageRun, sum, err
}

// replayFile opens and replays the log at path.
func replayFile(path string) (stage, replay.Summary, error) {
	rd, err := replay.Open(path)
	return replayReader(rd, err, replay.Options{})
}

// replayBytes replays a log held in memory; size is its size or -1.
func replayBytes(data []byte, size int64) (stage, replay.Summary, error) {
	rd, err := replay.NewReader(bytes.NewReader(data), size, "test.log")
	return replayReader(rd, err, replay.Options{})
}

type result struct {
	stage stage
	sum   replay.Summary
	err   error
	panic string
}

// guarded runs a replay in its own goroutine and fails the test if it
// panics or takes more than 10 seconds.
func guarded(tb testing.TB, what string, f func() (stage, replay.Summary, error)) (stage, replay.Summary, error) {
	tb.Helper()
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{panic: fmt.Sprintf("%v\n%s", p, debug.Stack())}
			}
		}()
		st, sum, err := f()
		done <- result{stage: st, sum: sum, err: err}
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.panic != "" {
			tb.Fatalf("%s: panic: %s", what, r.panic)
		}
		return r.stage, r.sum, r.err
	case <-timer.C:
		tb.Fatalf("%s: no result after 10s", what)
	}
	panic("unreachable")
}

// readAll decodes a complete log.
func readAll(tb testing.TB, data []byte) (replay.Header, []*replay.Record) {
	tb.Helper()
	rd, err := replay.NewReader(bytes.NewReader(data), int64(len(data)), "test.log")
	if err != nil {
		tb.Fatal(err)
	}
	var recs []*replay.Record
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return rd.Header(), recs
		}
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

// encodeLog writes records with a Writer, as a node would have.
func encodeLog(tb testing.TB, h replay.Header, recs []*replay.Record) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := replay.NewWriter(&buf, h)
	if err != nil {
		tb.Fatal(err)
	}
	ended := false
	for _, rec := range recs {
		switch rec.Type {
		case replay.RecordInput:
			w.Input(rec.Meta, rec.Action)
			if len(rec.Commands) > 0 {
				w.CommandDigests(rec.Commands)
			}
		case replay.RecordDerived:
			a, ok := action.Zero(rec.Kind)
			if !ok {
				tb.Fatalf("derived record of unknown kind %d", rec.Kind)
			}
			w.Derived(rec.Meta, a, rec.Dropped)
		case replay.RecordCheckpoint:
			w.Checkpoint(rec.LastID, rec.Hash, sectionsOf(rec.Sections))
		case replay.RecordEnd:
			if err := w.End(rec.LastID, rec.Hash, sectionsOf(rec.Sections)); err != nil {
				tb.Fatal(err)
			}
			ended = true
		case replay.RecordCommands:
			w.CommandDigests(rec.Commands)
		default:
			tb.Fatalf("record of type %d", rec.Type)
		}
	}
	if !ended {
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
	}
	if w.Bytes() != uint64(buf.Len()) {
		tb.Fatalf("Writer.Bytes() = %d, wrote %d", w.Bytes(), buf.Len())
	}
	return buf.Bytes()
}

func asCorrupt(tb testing.TB, what string, err error) *replay.CorruptError {
	tb.Helper()
	var ce *replay.CorruptError
	if !errors.As(err, &ce) {
		tb.Fatalf("%s: want a *replay.CorruptError, got %T: %v", what, err, err)
	}
	return ce
}

func asDivergence(tb testing.TB, what string, err error) *replay.DivergenceError {
	tb.Helper()
	var de *replay.DivergenceError
	if !errors.As(err, &de) {
		tb.Fatalf("%s: want a *replay.DivergenceError, got %T: %v", what, err, err)
	}
	return de
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := sim.New(sim.Config{Nodes: 3, Seed: 7, Duration: 5 * time.Second, RecordDir: dir, TxRate: 20, CheckpointEvery: 64})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Nodes {
		t.Run(string(n.ID), func(t *testing.T) {
			data, err := os.ReadFile(n.Path)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Log.Bytes(); got != uint64(len(data)) {
				t.Errorf("Writer.Bytes() = %d, the file has %d", got, len(data))
			}
			fs := frames(t, data)
			if got := n.Log.Records(); got != uint64(len(fs)) {
				t.Errorf("Writer.Records() = %d, the file has %d", got, len(fs))
			}

			sum, err := replay.VerifyFile(n.Path, replay.Options{CheckInvariants: true})
			if err != nil {
				t.Fatalf("VerifyFile: %v", err)
			}
			if !sum.Complete || sum.Violations != 0 {
				t.Errorf("summary %+v: want complete without violations", sum)
			}
			if sum.LastID != n.Store.LastID() || sum.Final != n.Store.State().Hash() {
				t.Errorf("replay ends at #%d %s, the node at #%d %s",
					sum.LastID, sum.Final.Short(), n.Store.LastID(), n.Store.State().Hash().Short())
			}

			rd, err := replay.Open(n.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			h := rd.Header()
			if h.Format != replay.FormatVersion || h.Build != replay.BuildVersion() || h.Network != "simnet" ||
				h.Self.ID != n.ID || h.CheckpointEvery != 64 || h.StartTime != sim.Epoch {
				t.Errorf("header %+v", h)
			}
			if init := h.InitialState().Hash(); !bytes.Equal(init[:], h.InitialHash) {
				t.Errorf("the header's initial state hashes to %s, it records %x", init.Short(), h.InitialHash)
			}
			if rd.Good() != 1 || rd.Offset() != int64(fs[0].End) {
				t.Errorf("after the header: Good %d, Offset %d; want 1, %d", rd.Good(), rd.Offset(), fs[0].End)
			}

			var (
				recs        []*replay.Record
				lastID      uint64
				lastTime    = h.StartTime
				seen        = map[uint64]bool{}
				inputs      uint64
				derived     uint64
				checkpoints uint64
				commands    int
			)
			for i := 1; ; i++ {
				rec, err := rd.Next()
				if err == io.EOF {
					if i != len(fs) {
						t.Fatalf("io.EOF after %d records, the file has %d", i, len(fs))
					}
					break
				}
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if rd.Ended() != (rec.Type == replay.RecordEnd) {
					t.Errorf("record %d (type %d): Ended() = %v", i, rec.Type, rd.Ended())
				}
				if rec.Offset != int64(fs[i].Start) || rec.Type != fs[i].Type {
					t.Fatalf("record %d: type %d at %d; the framing has type %d at %d", i, rec.Type, rec.Offset, fs[i].Type, fs[i].Start)
				}
				if rd.Good() != uint64(i+1) || rd.Offset() != int64(fs[i].End) {
					t.Errorf("record %d: Good %d, Offset %d", i, rd.Good(), rd.Offset())
				}
				if len(recs) > 0 && recs[len(recs)-1].Type == replay.RecordEnd {
					t.Fatalf("record %d follows the end record", i)
				}
				switch rec.Type {
				case replay.RecordInput:
					inputs++
					if rec.Meta.ID <= lastID || rec.Meta.Parent != 0 || rec.Meta.Time < lastTime {
						t.Errorf("input %+v after #%d at %d", rec.Meta, lastID, lastTime)
					}
					if rec.Action == nil || rec.Action.Kind() != rec.Kind || !rec.Kind.Input() {
						t.Errorf("input #%d: kind %s, action %#v", rec.Meta.ID, rec.Kind, rec.Action)
					}
					lastID, lastTime = rec.Meta.ID, rec.Meta.Time
					seen[rec.Meta.ID] = true
				case replay.RecordDerived:
					derived++
					if rec.Meta.ID <= lastID || rec.Meta.Parent >= rec.Meta.ID || !seen[rec.Meta.Parent] || rec.Meta.Time != lastTime {
						t.Errorf("derived %s %+v after #%d at %d", rec.Kind, rec.Meta, lastID, lastTime)
					}
					if !rec.Kind.Known() || rec.Action != nil {
						t.Errorf("derived #%d: kind %s, action %#v", rec.Meta.ID, rec.Kind, rec.Action)
					}
					lastID = rec.Meta.ID
					seen[rec.Meta.ID] = true
				case replay.RecordCheckpoint:
					checkpoints++
					if rec.LastID != lastID || len(rec.Sections) == 0 || rec.Hash == (state.Hash{}) {
						t.Errorf("checkpoint after #%d at #%d with %d sections", rec.LastID, lastID, len(rec.Sections))
					}
				case replay.RecordEnd:
					if rec.LastID != lastID || rec.Hash != n.Store.State().Hash() {
						t.Errorf("end record after #%d %s; last ID #%d, final hash %s",
							rec.LastID, rec.Hash.Short(), lastID, n.Store.State().Hash().Short())
					}
				case replay.RecordCommands:
					if rec.Meta.ID != lastID || len(rec.Commands) == 0 {
						t.Errorf("commands record for #%d after #%d with %d commands", rec.Meta.ID, lastID, len(rec.Commands))
					}
					commands += len(rec.Commands)
				default:
					t.Errorf("record %d: type %d", i, rec.Type)
				}
				recs = append(recs, rec)
			}
			if recs[len(recs)-1].Type != replay.RecordEnd {
				t.Errorf("the last record is of type %d", recs[len(recs)-1].Type)
			}
			if commands == 0 {
				t.Errorf("no commands recorded")
			}
			if inputs != sum.Inputs || derived != sum.Derived || checkpoints != sum.Checkpoints || inputs == 0 || checkpoints == 0 {
				t.Errorf("read %d inputs, %d derived, %d checkpoints; the replay counted %+v", inputs, derived, checkpoints, sum)
			}
			for i := 0; i < 2; i++ {
				if _, err := rd.Next(); err != io.EOF {
					t.Errorf("Next after the end: %v, want io.EOF", err)
				}
			}

			// Writing the decoded records again gives the same bytes.
			if again := encodeLog(t, h, recs); !bytes.Equal(again, data) {
				t.Errorf("re-encoding the records gives %d bytes that differ from the file's %d", len(again), len(data))
			}
		})
	}
}

// TestReaderUnknownSize reads a log through a reader that does not know
// its size and through Open.
func TestReaderUnknownSize(t *testing.T) {
	data := smallLog(t)
	for _, size := range []int64{int64(len(data)), -1} {
		rd, err := replay.NewReader(iotestOneByte{bytes.NewReader(data)}, size, "test.log")
		if err != nil {
			t.Fatal(err)
		}
		r, err := replay.NewReplayer(rd, replay.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sum, err := r.Run(); err != nil || !sum.Complete {
			t.Errorf("size %d: %+v, %v", size, sum, err)
		}
	}
}

// iotestOneByte hands out one byte per Read, as a slow pipe would.
type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// TestTruncatedAtEveryByte cuts the log at every byte and replays what is
// left: every cut in memory with the size known, every record boundary and
// every third cut with the size unknown, and every boundary and every 16th
// cut through a file and Open. (Rewriting a file thousands of times is slow
// on some disks.)
func TestTruncatedAtEveryByte(t *testing.T) {
	data := smallLog(t)
	fs := frames(t, data)
	path := filepath.Join(t.TempDir(), "cut.log")
	var boundaries, files int
	for cut := 0; cut < len(data); cut++ {
		// The error points at the start of the record the cut falls in (a
		// cut at a boundary is the start of the missing record), and counts
		// the records before it.
		wantOff, wantGood := int64(cut), uint64(0)
		boundary := cut == 0
		if i := frameAt(fs, cut); i >= 0 {
			wantOff, wantGood = int64(fs[i].Start), uint64(i)
			boundary = fs[i].Start == cut
		}
		if boundary {
			boundaries++
		}
		// The header is read by Open; after it, the replay runs every
		// input whose records are all there (the last input before the cut
		// is held back, since what it caused may be cut off).
		wantStage := stageRun
		if cut < fs[0].End {
			wantStage = stageOpen
		}
		complete := 0
		for _, f := range fs {
			if f.End <= cut && f.Type == replay.RecordInput {
				complete++
			}
		}
		wantInputs := uint64(max(complete-1, 0))

		check := func(how string, run func() (stage, replay.Summary, error)) {
			t.Helper()
			what := fmt.Sprintf("cut at %d of %d, %s", cut, len(data), how)
			st, sum, err := guarded(t, what, run)
			if err == nil {
				t.Fatalf("%s: the replay succeeded: %+v", what, sum)
			}
			msg := err.Error()
			if !strings.Contains(msg, "offset") {
				t.Errorf("%s: the error does not name an offset: %v", what, err)
			}
			ce := asCorrupt(t, what, err)
			if !ce.Torn || !replay.IsTorn(err) || !errors.Is(err, replay.ErrNotComplete) {
				t.Errorf("%s: a cut log must be reported torn: %v", what, err)
			}
			if ce.Offset != wantOff || ce.Good != wantGood {
				t.Errorf("%s: offset %d, %d good records; want %d, %d: %v", what, ce.Offset, ce.Good, wantOff, wantGood, err)
			}
			if cut >= fs[0].End {
				if want := fmt.Sprintf("the %d records before it are good", wantGood); !strings.Contains(msg, want) {
					t.Errorf("%s: the error does not say %q: %v", what, want, err)
				}
			}
			if st != wantStage || sum.Inputs != wantInputs {
				t.Errorf("%s: returned at %s after %d inputs; want %s after %d", what, st, sum.Inputs, wantStage, wantInputs)
			}
		}
		check("size known", func() (stage, replay.Summary, error) { return replayBytes(data[:cut], int64(cut)) })
		if boundary || cut%3 == 0 {
			check("size unknown", func() (stage, replay.Summary, error) { return replayBytes(data[:cut], -1) })
		}
		if boundary || cut%16 == 0 {
			if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			files++
			check("file", func() (stage, replay.Summary, error) { return replayFile(path) })
		}
	}
	if boundaries != len(fs)+1 {
		t.Errorf("cut at %d record boundaries; the log has %d records after its magic", boundaries, len(fs))
	}
	t.Logf("%d cuts, %d through files", len(data), files)
}

func TestFlippedByte(t *testing.T) {
	data := smallLog(t)
	fs := frames(t, data)
	check := func(pos int, mask byte, size int64) {
		t.Helper()
		bad := bytes.Clone(data)
		bad[pos] ^= mask
		what := fmt.Sprintf("byte %d of %d (%#02x→%#02x), size %d", pos, len(data), data[pos], bad[pos], size)
		_, sum, err := guarded(t, what, func() (stage, replay.Summary, error) { return replayBytes(bad, size) })
		if err == nil {
			t.Errorf("%s: the changed log verifies: %+v", what, sum)
			return
		}
		if !strings.Contains(err.Error(), "offset") {
			t.Errorf("%s: the error does not name an offset: %v", what, err)
		}
		ce := asCorrupt(t, what, err)
		// The bad record is the one holding the byte: every byte of a
		// record is covered by its checksum, or by the framing.
		wantOff, wantGood := int64(0), uint64(0)
		if i := frameAt(fs, pos); i >= 0 {
			wantOff, wantGood = int64(fs[i].Start), uint64(i)
		}
		if ce.Offset != wantOff || ce.Good != wantGood {
			t.Errorf("%s: offset %d after %d good records; want %d, %d: %v", what, ce.Offset, ce.Good, wantOff, wantGood, err)
		}
		if ce.Torn && pos >= fs[0].Start {
			// Torn is only right for a length that runs past the end of
			// the file, never for a changed body.
			if i := frameAt(fs, pos); pos >= fs[i].Body {
				t.Errorf("%s: a changed record body reported torn: %v", what, err)
			}
		}
	}
	for pos := range data {
		check(pos, 0xff, int64(len(data)))
	}
	// Single-bit flips, with the size unknown, on every byte of each
	// record's framing and on a sample of the rest.
	for pos := range data {
		i := frameAt(fs, pos)
		if i < 0 || pos <= fs[i].Body || pos%7 == 0 {
			check(pos, 0x01, -1)
		}
	}
}

func TestMidFileCorruptionIsNotTorn(t *testing.T) {
	data := smallLog(t)
	fs := frames(t, data)
	mid := len(fs) / 2
	dir := t.TempDir()
	for _, pos := range []int{fs[mid].Start, fs[mid].Start + 4, fs[mid].Body, fs[mid].End - 1} {
		bad := bytes.Clone(data)
		bad[pos] ^= 0x10
		path := filepath.Join(dir, fmt.Sprintf("flip-%d.log", pos))
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("byte %d in record %d [%d, %d)", pos, mid, fs[mid].Start, fs[mid].End)
		_, _, err := guarded(t, what, func() (stage, replay.Summary, error) { return replayFile(path) })
		ce := asCorrupt(t, what, err)
		if ce.Torn || replay.IsTorn(err) {
			t.Errorf("%s: a changed byte mid-file reported torn: %v", what, err)
		}
		if ce.Offset > int64(pos) || ce.Offset != int64(fs[mid].Start) || ce.Good != uint64(mid) {
			t.Errorf("%s: offset %d after %d good; want %d after %d", what, ce.Offset, ce.Good, fs[mid].Start, mid)
		}
		if want := fmt.Sprintf("corrupt record at offset %d", fs[mid].Start); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q does not say %q", what, err, want)
		}
		if ce.Name != path {
			t.Errorf("%s: the error names %q", what, ce.Name)
		}
	}
}

func TestTornTailReportsGoodRecords(t *testing.T) {
	data := smallLog(t)
	fs := frames(t, data)
	last := len(fs) - 1
	for _, k := range []int{last, last - 1, 1} {
		for cut := fs[k].Start; cut < fs[k].End; cut++ {
			what := fmt.Sprintf("cut at %d in record %d [%d, %d)", cut, k, fs[k].Start, fs[k].End)
			_, _, err := guarded(t, what, func() (stage, replay.Summary, error) { return replayBytes(data[:cut], int64(cut)) })
			ce := asCorrupt(t, what, err)
			if !ce.Torn || !replay.IsTorn(err) || ce.Good != uint64(k) || ce.Offset != int64(fs[k].Start) {
				t.Errorf("%s: torn %v, %d good at offset %d; want torn, %d good at %d", what, ce.Torn, ce.Good, ce.Offset, k, fs[k].Start)
			}
			if want := fmt.Sprintf("torn tail at offset %d", fs[k].Start); !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", what, err, want)
			}
			if want := fmt.Sprintf("the %d records before it are good", k); !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", what, err, want)
			}
			if cut == fs[k].Start && !strings.Contains(err.Error(), "without its end record") {
				t.Errorf("%s: a log cut at a record boundary should say it has no end record: %v", what, err)
			}
		}
	}
}

// TestDivergence changes what a log says the node was told and checks the
// replay notices.
func TestDivergence(t *testing.T) {
	data := smallLog(t)
	h, recs := readAll(t, data)
	conn := slices.IndexFunc(recs, func(r *replay.Record) bool { return r.Kind == action.KindConnected && r.Type == replay.RecordInput })
	if conn < 0 {
		t.Fatal("the log has no Connected input")
	}
	if got := encodeLog(t, h, recs); !bytes.Equal(got, data) {
		t.Fatal("re-encoding the log changes it")
	}
	// group is the Connected input and the records that follow it up to
	// the next input.
	group := conn + 1
	for group < len(recs) && recs[group].Type != replay.RecordInput && recs[group].Type != replay.RecordEnd {
		group++
	}

	tests := []struct {
		name   string
		edit   func() []*replay.Record
		strict bool // the divergence must name a known kind
	}{
		{"drop the Connected input", func() []*replay.Record {
			return slices.Delete(slices.Clone(recs), conn, conn+1)
		}, true},
		{"replace Connected with Tick", func() []*replay.Record {
			out := slices.Clone(recs)
			r := *out[conn]
			r.Kind, r.Action = action.KindTick, action.Tick{}
			out[conn] = &r
			return out
		}, true},
		{"drop Connected and what it caused, renumbered", func() []*replay.Record {
			n := uint64(0)
			for _, r := range recs[conn:group] {
				if r.Type == replay.RecordInput || r.Type == replay.RecordDerived {
					n++
				}
			}
			first := recs[conn].Meta.ID
			var out []*replay.Record
			for i, r := range recs {
				if i >= conn && i < group {
					continue
				}
				c := *r
				if i >= group {
					if c.Meta.ID > first {
						c.Meta.ID -= n
					}
					if c.Meta.Parent > first {
						c.Meta.Parent -= n
					}
					if c.LastID > first {
						c.LastID -= n
					}
				}
				out = append(out, &c)
			}
			return out
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			edited := encodeLog(t, h, tc.edit())
			// The edited log is well formed: only the replay can tell.
			readAll(t, edited)
			_, sum, err := guarded(t, tc.name, func() (stage, replay.Summary, error) { return replayBytes(edited, int64(len(edited))) })
			if err == nil {
				t.Fatalf("the edited log verifies: %+v", sum)
			}
			de := asDivergence(t, tc.name, err)
			t.Logf("%v", err)
			if de.ID == 0 || de.Input == 0 || de.What == "" {
				t.Errorf("divergence %+v does not name its action", de)
			}
			if tc.strict && (!de.Kind.Known() || !strings.Contains(err.Error(), de.Kind.String())) {
				t.Errorf("divergence %+v does not name a known kind", de)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("action #%d", de.ID)) {
				t.Errorf("%q does not name action #%d", err, de.ID)
			}
			if sum.Complete {
				t.Error("a diverged replay is reported complete")
			}
		})
	}
}

func TestCheckpointMismatchNamesSections(t *testing.T) {
	data := smallLog(t)
	h, recs := readAll(t, data)
	cp := slices.IndexFunc(recs, func(r *replay.Record) bool { return r.Type == replay.RecordCheckpoint })
	if cp < 0 {
		t.Fatal("the log has no checkpoint")
	}
	_, sections := h.InitialState().Hashes()
	section := func(name string) int {
		i := slices.IndexFunc(sections, func(s state.SectionHash) bool { return s.Name == name })
		if i < 0 {
			t.Fatalf("no state section %q", name)
		}
		return i
	}
	if len(recs[cp].Sections) != len(sections) {
		t.Fatalf("the checkpoint has %d section hashes, the state %d sections", len(recs[cp].Sections), len(sections))
	}

	tests := []struct {
		name         string
		edit         func(r *replay.Record)
		wantSections []string
		wantText     string
	}{
		{"hash and two sections", func(r *replay.Record) {
			r.Hash[0] ^= 1
			r.Sections = slices.Clone(r.Sections)
			r.Sections[section("Counters")][7] ^= 1
			r.Sections[section("Peers")][0] ^= 0x80
		}, []string{"Peers", "Counters"}, "differing state sections: Peers, Counters"},
		{"hash only", func(r *replay.Record) { r.Hash[31] ^= 1 }, nil, "at the checkpoint"},
		{"sections missing", func(r *replay.Record) {
			r.Hash[0] ^= 1
			r.Sections = slices.Clone(r.Sections[:len(r.Sections)-2])
		}, []string{sections[len(sections)-2].Name, sections[len(sections)-1].Name}, "differing state sections"},
		{"checkpoint after another action", func(r *replay.Record) { r.LastID-- }, nil, "checkpoint after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			edited := slices.Clone(recs)
			r := *recs[cp]
			tc.edit(&r)
			edited[cp] = &r
			log := encodeLog(t, h, edited)
			readAll(t, log) // valid checksums: only the replay can tell
			_, _, err := guarded(t, tc.name, func() (stage, replay.Summary, error) { return replayBytes(log, int64(len(log))) })
			de := asDivergence(t, tc.name, err)
			at := de.At
			if !de.StateOnly {
				at = de.ID
			}
			if at != recs[cp].LastID || !slices.Equal(de.Sections, tc.wantSections) {
				t.Errorf("divergence at #%d in sections %q; want #%d in %q", at, de.Sections, recs[cp].LastID, tc.wantSections)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("%q does not say %q", err, tc.wantText)
			}
		})
	}

	t.Run("end hash", func(t *testing.T) {
		edited := slices.Clone(recs)
		r := *recs[len(recs)-1]
		r.Hash[5] ^= 1
		edited[len(edited)-1] = &r
		log := encodeLog(t, h, edited)
		_, sum, err := guarded(t, "end hash", func() (stage, replay.Summary, error) { return replayBytes(log, int64(len(log))) })
		de := asDivergence(t, "end hash", err)
		if de.At != r.LastID || !de.StateOnly || sum.Complete || !strings.Contains(err.Error(), "final state hash") {
			t.Errorf("%+v, complete %v", de, sum.Complete)
		}
	})
}

// replayedState is the state at the end of the small log.
func replayedState(t *testing.T) *state.State {
	t.Helper()
	data := smallLog(t)
	rd, err := replay.NewReader(bytes.NewReader(data), int64(len(data)), "test.log")
	if err != nil {
		t.Fatal(err)
	}
	r, err := replay.NewReplayer(rd, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(); err != nil {
		t.Fatal(err)
	}
	return r.State()
}

func TestStateJSON(t *testing.T) {
	st := replayedState(t)
	peer := string(sim.NodeID(0))
	if _, ok := st.Peers[state.PeerID(peer)]; !ok {
		t.Fatalf("the replayed node has no peer %s", peer)
	}
	before := st.Hash()

	object := func(path string) map[string]json.RawMessage {
		t.Helper()
		b, err := replay.StateJSON(st, path)
		if err != nil {
			t.Fatalf("StateJSON(%q): %v", path, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("StateJSON(%q) is not a JSON object: %v\n%s", path, err, b)
		}
		return m
	}
	root := object("")
	for _, k := range []string{"Config", "Self", "Now", "Peers", "Discovery", "Counters"} {
		if _, ok := root[k]; !ok {
			t.Errorf("the state has no %q", k)
		}
	}
	if len(object("/")) != len(root) {
		t.Error(`"/" is not the whole state`)
	}
	if _, ok := object("Peers")[peer]; !ok {
		t.Errorf("Peers has no %s", peer)
	}
	object("Peers/" + peer)
	object("Counters/Disconnects")
	if _, ok := object("/Counters/")["Actions"]; !ok {
		t.Error("Counters has no Actions")
	}

	// Numbers keep all their digits.
	for path, want := range map[string]string{
		"Now":              fmt.Sprint(st.Now),
		"Counters/Actions": fmt.Sprint(st.Counters.Actions),
		"RNG":              "",
	} {
		b, err := replay.StateJSON(st, path)
		if err != nil {
			t.Errorf("StateJSON(%q): %v", path, err)
			continue
		}
		if want != "" && string(b) != want {
			t.Errorf("StateJSON(%q) = %s, want %s", path, b, want)
		}
	}

	for _, tc := range []struct {
		path string
		want []string
	}{
		{"Nope", []string{`no "Nope" under /`, "have:", "Counters", "Peers"}},
		{"Counters/Nope", []string{`no "Nope" under /Counters`, "Actions", "Disconnects"}},
		{"Peers/node-999", []string{`no "node-999" under /Peers`, peer}},
		{"Now/x", []string{"Now is not an object"}},
	} {
		_, err := replay.StateJSON(st, tc.path)
		if err == nil {
			t.Errorf("StateJSON(%q) succeeded", tc.path)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("StateJSON(%q): %q does not say %q", tc.path, err, w)
			}
		}
	}
	if st.Hash() != before {
		t.Error("StateJSON changed the state")
	}
}

func TestDiff(t *testing.T) {
	st := replayedState(t)
	if d := replay.Diff(st, st.Clone()); d != "" {
		t.Errorf("a clone differs:\n%s", d)
	}
	empty := st.Clone()
	empty.Bans = nil // empty in st
	if len(st.Bans) != 0 {
		t.Fatalf("the replayed state has %d bans", len(st.Bans))
	}
	if d := replay.Diff(st, empty); d != "" {
		t.Errorf("a nil map differs from an empty one:\n%s", d)
	}

	changed := st.Clone()
	changed.Counters.Actions += 7
	d := replay.Diff(st, changed)
	if d == "" || !strings.Contains(d, "Actions") ||
		!strings.Contains(d, fmt.Sprint(st.Counters.Actions)) || !strings.Contains(d, fmt.Sprint(changed.Counters.Actions)) {
		t.Errorf("Diff after a change to Counters.Actions:\n%s", d)
	}
	if d := replay.Diff(changed, st); !strings.Contains(d, "-") || !strings.Contains(d, "+") {
		t.Errorf("Diff does not mark before and after:\n%s", d)
	}

	gone := st.Clone()
	delete(gone.Peers, sim.NodeID(0))
	if d := replay.Diff(st, gone); !strings.Contains(d, string(sim.NodeID(0))) {
		t.Errorf("Diff after removing a peer does not name it:\n%s", d)
	}
	if st.Hash() != replayedState(t).Hash() {
		t.Error("Diff changed its argument")
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record frames a record as the Writer does.
func record(typ byte, payload []byte) []byte {
	body := append([]byte{typ}, payload...)
	f := binary.LittleEndian.AppendUint32(nil, 0)
	f = binary.AppendUvarint(f, uint64(len(body)))
	f = append(f, body...)
	binary.LittleEndian.PutUint32(f, crc32.Checksum(f[4:], castagnoli))
	return f
}

// cbor encodes a payload with the codec the log uses.
func cbor(fill func(e *codec.Encoder)) []byte {
	var e codec.Encoder
	fill(&e)
	return bytes.Clone(e.Encoded())
}

// sharedPeerInput is a MessageReceived input (#1, at the start time)
// whose peer is the encoded item peer: a shared string or a reference.
func sharedPeerInput(peer []byte) []byte {
	return cbor(func(e *codec.Encoder) {
		e.Uint(uint64(action.KindMessageReceived))
		e.Uint(1)
		e.Uint(0)
		e.Array(3)
		e.Raw(peer)
		e.Uint(2)
		e.Bytes([]byte("data"))
	})
}

// TestReaderRejectsMalformedRecords feeds the reader records with valid
// checksums whose framing or content is wrong: each must be reported
// corrupt, not torn, at its own offset.
func TestReaderRejectsMalformedRecords(t *testing.T) {
	data := smallLog(t)
	fs := frames(t, data)
	header := data[:fs[0].End]
	tick := func(idStep, tStep uint64) []byte {
		return cbor(func(e *codec.Encoder) {
			e.Uint(uint64(action.KindTick))
			e.Uint(idStep)
			e.Uint(tStep)
			action.Tick{}.EncodeCBOR(e)
		})
	}
	hash := make([]byte, 32)
	checkpoint := func(lastID uint64, h []byte, sections ...[]byte) []byte {
		return cbor(func(e *codec.Encoder) {
			e.Uint(lastID)
			e.Bytes(h)
			e.Array(len(sections))
			for _, s := range sections {
				e.Bytes(s)
			}
		})
	}
	end := cbor(func(e *codec.Encoder) { e.Uint(1); e.Bytes(hash); e.Array(0) })
	// Every case follows the header and one good Tick input, #1.
	good := record(replay.RecordInput, tick(1, 0))
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	badCRC := record(replay.RecordInput, tick(1, 0))
	badCRC[0] ^= 1

	tests := []struct {
		name string
		rec  []byte
		want string
	}{
		{"checksum", badCRC, "checksum mismatch"},
		{"length 0", []byte{1, 2, 3, 4, 0}, "record of length 0"},
		{"length overflows", cat([]byte{0, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 9), []byte{0x02}), "overflows"},
		{"length over MaxRecord", cat([]byte{0, 0, 0, 0}, binary.AppendUvarint(nil, replay.MaxRecord+1), []byte{2}), "more than"},
		{"unknown type", record(9, tick(1, 0)), "unknown record type 9"},
		{"type 0", record(0, nil), "unknown record type 0"},
		{"second header", record(replay.RecordHeader, data[fs[0].Body+1:fs[0].End]), "a second header"},
		{"empty input", record(replay.RecordInput, nil), "end of data"},
		{"input of a derived kind", record(replay.RecordInput, cbor(func(e *codec.Encoder) {
			e.Uint(uint64(action.KindPeerReady))
			e.Uint(1)
			e.Uint(0)
			e.Array(0)
		})), "not an input kind"},
		{"input of no kind", record(replay.RecordInput, cbor(func(e *codec.Encoder) {
			e.Uint(200)
			e.Uint(1)
			e.Uint(0)
			e.Array(0)
		})), "not an input kind"},
		{"input without an ID step", record(replay.RecordInput, tick(0, 0)), "does not advance"},
		{"input time step too large", record(replay.RecordInput, tick(1, 1<<63)), "exceeds"},
		{"input with trailing bytes", record(replay.RecordInput, append(tick(1, 0), 0)), "the input's commands"},
		{"input with an empty commands list", record(replay.RecordInput, append(tick(1, 0), 0x80)), "an empty commands record"},
		{"input with commands and trailing bytes", record(replay.RecordInput, append(tick(1, 0), 0x81, 0x84, 1, 0, 0, 0x48, 0, 0, 0, 0, 0, 0, 0, 0, 0)), "trailing"},
		{"input with a bad action", record(replay.RecordInput, cbor(func(e *codec.Encoder) {
			e.Uint(uint64(action.KindConnected))
			e.Uint(1)
			e.Uint(0)
			e.Array(1)
			e.String("node-000")
		})), "Connected"},
		{"input naming a shared peer never defined", record(replay.RecordInput, sharedPeerInput([]byte{0xd8, 29, 3})), "reference to shared string 3 of 0"},
		{"input naming a peer by another tag", record(replay.RecordInput, sharedPeerInput([]byte{0xd8, 30, 0x61, 'a'})), "tag 30 where a string belongs"},
		{"derived of no kind", record(replay.RecordDerived, cbor(func(e *codec.Encoder) { e.Uint(200 << 1); e.Uint(1); e.Uint(1) })), "derived record"},
		{"derived without an ID step", record(replay.RecordDerived, cbor(func(e *codec.Encoder) {
			e.Uint(uint64(action.KindPeerReady) << 1)
			e.Uint(0)
			e.Uint(1)
		})), "derived record"},
		{"derived without a parent", record(replay.RecordDerived, cbor(func(e *codec.Encoder) {
			e.Uint(uint64(action.KindPeerReady) << 1)
			e.Uint(1)
			e.Uint(2)
		})), "derived record"},
		{"derived parent step 0", record(replay.RecordDerived, cbor(func(e *codec.Encoder) {
			e.Uint(uint64(action.KindPeerReady) << 1)
			e.Uint(1)
			e.Uint(0)
		})), "derived record"},
		{"checkpoint hash of 31 bytes", record(replay.RecordCheckpoint, checkpoint(1, hash[:31])), "hash of 31 bytes"},
		{"checkpoint hash of 33 bytes", record(replay.RecordCheckpoint, checkpoint(1, append(hash, 0))), "exceeds"},
		{"checkpoint section of 7 bytes", record(replay.RecordCheckpoint, checkpoint(1, hash, make([]byte, 8), make([]byte, 7))), "section hash of 7 bytes"},
		{"checkpoint section of 0 bytes", record(replay.RecordCheckpoint, checkpoint(1, hash, nil)), "section hash of 0 bytes"},
		{"checkpoint section of 9 bytes", record(replay.RecordCheckpoint, checkpoint(1, hash, make([]byte, 9))), "exceeds"},
		{"checkpoint of 65 sections", record(replay.RecordCheckpoint, checkpoint(1, hash, slices.Repeat([][]byte{make([]byte, 8)}, 65)...)), "exceeds"},
		{"checkpoint without sections", record(replay.RecordCheckpoint, cbor(func(e *codec.Encoder) { e.Uint(1); e.Bytes(hash) })), "end of data"},
		{"end with trailing bytes", record(replay.RecordEnd, append(bytes.Clone(end), 0)), "trailing"},
		{"end without a hash", record(replay.RecordEnd, cbor(func(e *codec.Encoder) { e.Uint(1) })), "end of data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := cat(header, good, tc.rec, record(replay.RecordEnd, end))
			for _, size := range []int64{int64(len(log)), -1} {
				rd, err := replay.NewReader(bytes.NewReader(log), size, "test.log")
				if err != nil {
					t.Fatal(err)
				}
				if rec, err := rd.Next(); err != nil || rec.Meta.ID != 1 {
					t.Fatalf("the good input: %+v, %v", rec, err)
				}
				rec, err := rd.Next()
				if err == nil {
					t.Fatalf("size %d: the bad record reads as %+v", size, rec)
				}
				ce := asCorrupt(t, tc.name, err)
				off := int64(len(header) + len(good))
				if ce.Torn || ce.Offset != off || ce.Good != 2 || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("size %d: %v; want corrupt at offset %d after 2 good records, saying %q", size, err, off, tc.want)
				}
				if rd.Ended() {
					t.Errorf("size %d: a bad record ended the log", size)
				}
				if _, again := rd.Next(); again != err {
					t.Errorf("size %d: the error is not sticky: then %v", size, again)
				}
				// The replay reports the same.
				rd, _ = replay.NewReader(bytes.NewReader(log), size, "test.log")
				_, _, rerr := guarded(t, tc.name, func() (stage, replay.Summary, error) { return replayReader(rd, nil, replay.Options{}) })
				if rerr == nil || rerr.Error() != err.Error() {
					t.Errorf("size %d: the replay says %v", size, rerr)
				}
			}
		})
	}

	t.Run("record after the end record", func(t *testing.T) {
		log := cat(header, good, record(replay.RecordEnd, end), good)
		rd, err := replay.NewReader(bytes.NewReader(log), int64(len(log)), "test.log")
		if err != nil {
			t.Fatal(err)
		}
		rd.Next()
		if rec, err := rd.Next(); err != nil || rec.Type != replay.RecordEnd || !rd.Ended() {
			t.Fatalf("the end record: %+v, %v", rec, err)
		}
		_, err = rd.Next()
		ce := asCorrupt(t, "record after the end", err)
		if ce.Torn || ce.Offset != int64(len(log)-len(good)) || !strings.Contains(err.Error(), "after the end record") {
			t.Errorf("%v", err)
		}
	})
}

// TestCorruptLengthDoesNotAllocate reads a record whose length claims far
// more than the file holds: the reader must find out without allocating
// what the length claims, whether it knows the file's size or not.
func TestCorruptLengthDoesNotAllocate(t *testing.T) {
	data := smallLog(t)
	fs := frames(t, data)
	log := bytes.Clone(data[:fs[0].End])
	log = append(log, 0, 0, 0, 0)
	log = binary.AppendUvarint(log, replay.MaxRecord)
	log = append(log, bytes.Repeat([]byte{byte(replay.RecordInput)}, 100)...)
	for _, size := range []int64{int64(len(log)), -1} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rd, err := replay.NewReader(bytes.NewReader(log), size, "test.log")
		if err != nil {
			t.Fatal(err)
		}
		_, err = rd.Next()
		runtime.ReadMemStats(&after)
		ce := asCorrupt(t, "length", err)
		if !ce.Torn || ce.Offset != int64(fs[0].End) {
			t.Errorf("size %d: %v; want torn at %d", size, err, fs[0].End)
		}
		// The reader's buffer and one chunk of body are fine; the 64 MiB
		// the length claims are not.
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("size %d: reading a %d-byte log allocated %d bytes", size, len(log), got)
		}
	}
}

// TestSmallLogSmallBuffers reads a small complete log: the reader's
// buffers must be sized to the file, not to the largest log it could read.
func TestSmallLogSmallBuffers(t *testing.T) {
	data := smallLog(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rd, err := replay.NewReader(bytes.NewReader(data), int64(len(data)), "test.log")
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4*uint64(len(data)) {
		t.Errorf("opening a %d-byte log allocated %d bytes", len(data), got)
	}
	for {
		if _, err := rd.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// The writer refuses an input its reader would refuse — here a 70,000-byte
// string — instead of writing a record that makes the rest of the log
// unreadable: it stops with an error naming the action, and what it wrote
// before still reads.
func TestWriterRefusesWhatTheReaderWould(t *testing.T) {
	st := state.New(state.DefaultConfig("t"), state.Self{ID: "self"}, 1, 0)
	var buf bytes.Buffer
	w, err := replay.NewWriter(&buf, replay.NewHeader(st, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	w.Input(action.Meta{ID: 1, Time: 1}, action.Tick{})
	w.Input(action.Meta{ID: 2, Time: 2}, action.Ban{Target: "x", Duration: time.Hour, Reason: strings.Repeat("r", 70000)})
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "#2 (Ban) cannot be recorded") {
		t.Fatalf("writer error: %v", err)
	}
	if err := w.Err(); err == nil || !strings.Contains(err.Error(), "#2 (Ban) cannot be recorded") {
		t.Fatalf("writer error after Flush: %v", err)
	}
	rd, err := replay.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "log")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rd.Next()
	if err != nil || rec.Kind != action.KindTick {
		t.Fatalf("first record: %v, %v", rec, err)
	}
	if _, err := rd.Next(); !replay.IsTorn(err) {
		t.Errorf("after the refused input the log should simply end: %v", err)
	}
}

// sectionsOf turns a record's section sums back into what a Writer takes.
func sectionsOf(sums [][8]byte) []state.SectionHash {
	sections := make([]state.SectionHash, len(sums))
	for i, s := range sums {
		sections[i].Sum = s
	}
	return sections
}

// TestRecordLengthsAroundVarintSteps writes inputs and commands records
// whose lengths take one, two and three bytes, on each side of every step
// (records are framed in place, their payload moved when its length
// takes more or fewer bytes than guessed), and reads each back: in format
// 3, the commands in a record of their own; in format 4, in the input's.
func TestRecordLengthsAroundVarintSteps(t *testing.T) {
	for _, format := range []int{3, 4} {
		t.Run(fmt.Sprint("format ", format), func(t *testing.T) { recordLengthsAroundVarintSteps(t, format) })
	}
}

func recordLengthsAroundVarintSteps(t *testing.T, format int) {
	st := state.New(state.DefaultConfig("t"), state.Self{ID: "self"}, 1, 0)
	var buf bytes.Buffer
	h := replay.NewHeader(st, 1, 0)
	h.Format = format
	w, err := replay.NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	w.KeepPayloads()
	var sizes []int
	for _, step := range []int{0, 1 << 7, 1 << 14} {
		for d := -70; d <= 70; d += 7 {
			if step+d >= 0 {
				sizes = append(sizes, step+d)
			}
		}
	}
	id := uint64(0)
	for _, n := range sizes {
		id++
		w.Input(action.Meta{ID: id, Time: int64(id)}, action.MessageReceived{Peer: "p", Channel: 2, Data: bytes.Repeat([]byte{byte(n)}, n)})
		ds := make([]service.Digest, 1+n/16%30)
		for i := range ds {
			ds[i] = service.Digest{Kind: service.CmdSend, Channel: 1, Size: uint64(n + i), Sum: [8]byte{byte(i)}}
		}
		w.CommandDigests(ds)
	}
	if err := w.End(id, st.Hash(), nil); err != nil {
		t.Fatal(err)
	}
	rd, err := replay.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "log")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range sizes {
		rec, err := rd.Next()
		if err != nil {
			t.Fatalf("input of %d bytes: %v", n, err)
		}
		if m, ok := rec.Action.(action.MessageReceived); !ok || len(m.Data) != n || (n > 0 && m.Data[n-1] != byte(n)) {
			t.Fatalf("input of %d bytes read back as %v", n, rec.Action)
		}
		if inline := len(rec.Commands) > 0; inline != (format >= 4) {
			t.Fatalf("format %d, input of %d bytes: commands in the input's record: %v", format, n, inline)
		}
		if format < 4 {
			if rec, err = rd.Next(); err != nil || rec.Type != replay.RecordCommands {
				t.Fatalf("commands after the input of %d bytes: %v %v", n, rec, err)
			}
		}
		if len(rec.Commands) != 1+n/16%30 || rec.Commands[0].Size != uint64(n) {
			t.Fatalf("commands of the input of %d bytes: %v", n, rec.Commands)
		}
	}
	if rec, err := rd.Next(); err != nil || rec.Type != replay.RecordEnd {
		t.Fatalf("end: %v %v", rec, err)
	}
}

// TestCommandSumsComputedBehind writes commands records whose digests
// the writer leaves to its background goroutine — records of 1 to 40
// commands, over many batches and write buffers — and checks every digest
// read back is the one Digester computes at once on the same commands.
func TestCommandSumsComputedBehind(t *testing.T) {
	st := state.New(state.DefaultConfig("t"), state.Self{ID: "self"}, 1, 0)
	var buf bytes.Buffer
	w, err := replay.NewWriter(&buf, replay.NewHeader(st, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	g := service.Digester{Limit: st.Config.RecordPayloadLimit, Separate: replay.FormatVersion >= 4}
	var want [][]service.Digest
	data := make([]byte, 3000)
	id := uint64(0)
	for i := 0; i < 2000; i++ {
		id++
		w.Input(action.Meta{ID: id, Time: int64(id)}, action.Tick{})
		cmds := make([]service.Command, 1+i%40)
		ds := make([]service.Digest, len(cmds))
		for j := range cmds {
			for k := range data {
				data[k] = byte(i + j + k)
			}
			payload := append([]byte(nil), data[:(i*7+j*13)%len(data)]...)
			cmds[j] = &service.Deliver{Peer: state.PeerID(fmt.Sprint("peer", j)), Channel: 2, Data: payload}
			ds[j] = g.Digest(cmds[j])
		}
		w.Commands(action.Meta{ID: id}, action.Tick{}, cmds)
		clear(cmds) // the store reuses its list of commands
		want = append(want, ds)
	}
	if err := w.End(id, st.Hash(), nil); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 4*128<<10 {
		t.Fatalf("log of %d bytes: too short to span several write buffers", buf.Len())
	}
	rd, err := replay.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "log")
	if err != nil {
		t.Fatal(err)
	}
	for i, ds := range want {
		rec, err := rd.Next()
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		// In the input's record, or, where a batch ended between them,
		// in their own.
		if len(rec.Commands) == 0 {
			if rec, err = rd.Next(); err != nil || rec.Type != replay.RecordCommands {
				t.Fatalf("commands %d: %v %v", i, rec, err)
			}
		}
		if len(rec.Commands) != len(ds) {
			t.Fatalf("commands %d: %d digests, want %d", i, len(rec.Commands), len(ds))
		}
		for j := range ds {
			if rec.Commands[j] != ds[j] {
				t.Fatalf("commands %d, digest %d: %v, want %v", i, j, rec.Commands[j], ds[j])
			}
		}
	}
}
