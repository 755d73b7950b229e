package replay_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
)

// FuzzLogReader feeds arbitrary bytes to the reader, with the size known
// and unknown, and to a replay: it must never panic or hang, and every
// problem must be a *replay.CorruptError naming an offset, a
// *replay.DivergenceError, or NewReplayer's complaint about the initial
// state. Since random changes almost never keep a record's checksum, each
// input is also tried with every checksum recomputed ("resealed"), so the
// fuzzer reaches the record decoders and the replay itself.
func FuzzLogReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Both sizes are read; the replay, which costs more, alternates.
		odd := len(b)%2 == 1
		err := fuzzGuard(func() error {
			if err := checkLog(b, odd); err != nil {
				return err
			}
			if sealed := reseal(b); sealed != nil && !bytes.Equal(sealed, b) {
				if err := checkLog(sealed, !odd); err != nil {
					return fmt.Errorf("resealed: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// fuzzGuard runs f in its own goroutine and turns a panic or a hang into
// an error.
func fuzzGuard(f func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		done <- f()
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return errors.New("no result after 10s")
	}
}

// reseal returns a copy of b with the checksum of every record it can
// frame recomputed, or nil if b does not start with the magic.
func reseal(b []byte) []byte {
	if !bytes.HasPrefix(b, []byte(replay.Magic)) {
		return nil
	}
	out := bytes.Clone(b)
	for off := len(replay.Magic); len(out)-off > 4; {
		n, k := binary.Uvarint(out[off+4:])
		if k <= 0 || n == 0 || n > uint64(len(out)-off-4-k) {
			break
		}
		end := off + 4 + k + int(n)
		binary.LittleEndian.PutUint32(out[off:], crc32.Checksum(out[off+4:end], castagnoli))
		off = end
	}
	return out
}

// checkCorrupt checks that err is a *replay.CorruptError about a log of
// n bytes.
func checkCorrupt(err error, n int) (*replay.CorruptError, error) {
	var ce *replay.CorruptError
	if !errors.As(err, &ce) {
		return nil, fmt.Errorf("want a *replay.CorruptError, got %T: %v", err, err)
	}
	msg := err.Error()
	switch {
	case ce.Offset < 0 || ce.Offset > int64(n):
		return nil, fmt.Errorf("offset %d outside a log of %d bytes: %v", ce.Offset, n, err)
	case ce.Name != "fuzz":
		return nil, fmt.Errorf("the error names %q: %v", ce.Name, err)
	case !strings.Contains(msg, "offset"):
		return nil, fmt.Errorf("the error does not name an offset: %v", err)
	case ce.Torn != replay.IsTorn(err):
		return nil, fmt.Errorf("Torn %v, IsTorn %v: %v", ce.Torn, replay.IsTorn(err), err)
	case ce.Torn && !strings.Contains(msg, "records before it are good"):
		return nil, fmt.Errorf("a torn log does not say how many records are good: %v", err)
	}
	return ce, nil
}

// checkLog reads b with its size known and unknown, and replays it with
// the size unknown (and invariants checked) or known.
func checkLog(b []byte, unknown bool) error {
	for _, size := range []int64{int64(len(b)), -1} {
		if err := checkRead(b, size, (size < 0) == unknown); err != nil {
			return fmt.Errorf("size %d: %w", size, err)
		}
	}
	return nil
}

// checkRead reads b record by record and, if doReplay is set, replays it.
func checkRead(b []byte, size int64, doReplay bool) error {
	rd, err := replay.NewReader(bytes.NewReader(b), size, "fuzz")
	if err != nil {
		if rd != nil {
			return fmt.Errorf("NewReader returned a reader and %v", err)
		}
		_, err := checkCorrupt(err, len(b))
		return err
	}

	// Read every record.
	var readErr error
	lastOff := rd.Offset()
	for n := 0; readErr == nil; n++ {
		if n > 100000 {
			return fmt.Errorf("more than %d records in %d bytes", n, len(b))
		}
		good := rd.Good()
		rec, err := rd.Next()
		if err != nil {
			if err == io.EOF {
				if !rd.Ended() {
					return errors.New("io.EOF before the end record")
				}
			} else {
				ce, cerr := checkCorrupt(err, len(b))
				if cerr != nil {
					return cerr
				}
				if ce.Good != good || rd.Good() != good {
					return fmt.Errorf("after %d good records, Good is %d and the error says %d: %v", good, rd.Good(), ce.Good, err)
				}
			}
			if _, again := rd.Next(); again != err {
				return fmt.Errorf("the reader's error %v is followed by %v", err, again)
			}
			readErr = err
			break
		}
		if rec == nil || rec.Offset != lastOff || rd.Offset() <= lastOff || rd.Offset() > int64(len(b)) || rd.Good() != good+1 {
			return fmt.Errorf("record %+v after offset %d, Good %d then %d", rec, lastOff, good, rd.Good())
		}
		lastOff = rd.Offset()
		switch rec.Type {
		case replay.RecordInput:
			if rec.Action == nil || rec.Action.Kind() != rec.Kind || !rec.Kind.Input() {
				return fmt.Errorf("input record of kind %s with action %#v", rec.Kind, rec.Action)
			}
		case replay.RecordDerived:
			if !rec.Kind.Known() || rec.Meta.Parent >= rec.Meta.ID {
				return fmt.Errorf("derived record %s %+v", rec.Kind, rec.Meta)
			}
		case replay.RecordCheckpoint, replay.RecordEnd:
		case replay.RecordCommands:
			if len(rec.Commands) == 0 || !rec.Kind.Known() {
				return fmt.Errorf("commands record %+v", rec)
			}
		default:
			return fmt.Errorf("record of type %d", rec.Type)
		}
	}

	if !doReplay {
		return nil
	}
	// Replay it from a fresh reader.
	rd, err = replay.NewReader(bytes.NewReader(b), size, "fuzz")
	if err != nil {
		return fmt.Errorf("the header read once, then: %v", err)
	}
	r, err := replay.NewReplayer(rd, replay.Options{CheckInvariants: size < 0})
	if err != nil {
		var ce *replay.CorruptError
		if errors.As(err, &ce) {
			_, err := checkCorrupt(err, len(b))
			return err
		}
		if !strings.Contains(err.Error(), "initial state") {
			return fmt.Errorf("NewReplayer: unexpected error %T: %v", err, err)
		}
		return nil
	}
	sum, err := r.Run()
	var de *replay.DivergenceError
	switch {
	case err == nil:
		if !sum.Complete || readErr != io.EOF {
			return fmt.Errorf("the replay succeeded (%+v), the reader said %v", sum, readErr)
		}
	case errors.As(err, &de):
		if de.What == "" || !strings.Contains(err.Error(), "diverged") {
			return fmt.Errorf("divergence without a description: %+v", de)
		}
	default:
		if _, cerr := checkCorrupt(err, len(b)); cerr != nil {
			return fmt.Errorf("Run: %w", cerr)
		}
		if readErr == io.EOF || err.Error() != readErr.Error() {
			return fmt.Errorf("the replay says %v, the reader said %v", err, readErr)
		}
	}
	if sum.Complete && err != nil {
		return fmt.Errorf("a replay that failed (%v) is reported complete", err)
	}
	return nil
}

// fuzzSeed is one starting input of FuzzLogReader.
type fuzzSeed struct {
	name string
	data []byte
}

// fuzzSeeds are the small complete log, cuts and changed copies of it.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	data := smallLog(tb)
	fs := frames(tb, data)
	last, mid := len(fs)-1, len(fs)/2
	input := slices.IndexFunc(fs, func(f frame) bool { return f.Type == replay.RecordInput })
	flip := func(pos int, mask byte) []byte {
		b := bytes.Clone(data)
		b[pos] ^= mask
		return b
	}
	seeds := []fuzzSeed{
		{"empty", []byte{}},
		{"magic", []byte(replay.Magic)},
		{"complete", data},
		{"cut-in-magic", data[:5]},
		{"cut-in-header", data[:(fs[0].Start+fs[0].End)/2]},
		{"header-only", data[:fs[0].End]},
		{"cut-at-mid-boundary", data[:fs[mid].Start]},
		{"cut-in-mid-record", data[:fs[mid].Body+1]},
		{"cut-before-end", data[:fs[last].Start]},
		{"cut-in-end", data[:fs[last].End-1]},
		{"flip-magic", flip(3, 0xff)},
		{"flip-header", flip(fs[0].Body+10, 0x01)},
		{"flip-mid-crc", flip(fs[mid].Start, 0xff)},
		{"flip-mid-length", flip(fs[mid].Start+4, 0x40)},
		{"flip-mid-type", flip(fs[mid].Body, 0x01)},
		{"flip-input-payload", flip(fs[input].End-1, 0x01)},
		{"flip-end-hash", flip(fs[last].End-1, 0xff)},
	}

	// Changes that keep every checksum: only the replay can tell.
	h, recs := readAll(tb, data)
	conn := slices.IndexFunc(recs, func(r *replay.Record) bool { return r.Kind == action.KindConnected })
	cp := slices.IndexFunc(recs, func(r *replay.Record) bool { return r.Type == replay.RecordCheckpoint })
	if conn < 0 || cp < 0 {
		tb.Fatal("the small log has no Connected input or no checkpoint")
	}
	badCP := *recs[cp]
	badCP.Hash[0] ^= 1
	badCP.Sections = slices.Clone(badCP.Sections)
	badCP.Sections[0][0] ^= 1
	seeds = append(seeds,
		fuzzSeed{"sealed-drop-connected", encodeLog(tb, h, slices.Delete(slices.Clone(recs), conn, conn+1))},
		fuzzSeed{"sealed-checkpoint-mismatch", encodeLog(tb, h, slices.Replace(slices.Clone(recs), cp, cp+1, &badCP))},
		fuzzSeed{"sealed-no-end", encodeLog(tb, h, recs[:len(recs)-1])},
	)
	return seeds
}

// TestWriteFuzzCorpus writes the seeds of FuzzLogReader to
// testdata/fuzz/FuzzLogReader, so that a plain go test runs them and
// fuzzing starts from them. Run it after the log format or the simulator
// changes:
//
//	P2PCORE_WRITE_CORPUS=1 go test ./replay -run TestWriteFuzzCorpus
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("P2PCORE_WRITE_CORPUS") == "" {
		t.Skip("set P2PCORE_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzLogReader")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzLogReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range fuzzSeeds(t) {
		file := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s.data)) + ")\n"
		if len(file) > 50<<10 {
			t.Fatalf("seed %s takes %d bytes", s.name, len(file))
		}
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.name), []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFuzzSeeds checks the seeds behave as their names say, so that the
// corpus holds what it claims.
func TestFuzzSeeds(t *testing.T) {
	for _, s := range fuzzSeeds(t) {
		for _, unknown := range []bool{false, true} {
			if err := checkLog(s.data, unknown); err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
		}
		_, _, err := guarded(t, s.name, func() (stage, replay.Summary, error) { return replayBytes(s.data, int64(len(s.data))) })
		var de *replay.DivergenceError
		switch {
		case s.name == "complete":
			if err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
		case strings.HasPrefix(s.name, "sealed-") && s.name != "sealed-no-end":
			if !errors.As(err, &de) {
				t.Errorf("%s: want a divergence, got %v", s.name, err)
			}
		case strings.HasPrefix(s.name, "cut-") || s.name == "empty" || s.name == "magic" || s.name == "header-only" || s.name == "sealed-no-end":
			if !replay.IsTorn(err) {
				t.Errorf("%s: want a torn log, got %v", s.name, err)
			}
		default:
			var ce *replay.CorruptError
			if !errors.As(err, &ce) {
				t.Errorf("%s: want a corrupt log, got %v", s.name, err)
			}
		}
	}
}
