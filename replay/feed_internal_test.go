package replay

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

type feedClock struct{ t int64 }

func (c *feedClock) Now() int64 { return c.t }

// feedLog records a node that handshakes 40 peers, exchanges messages
// with them and shuts down: the shutdown is one input followed by well
// over a hundred records (a derived action and commands per peer), longer
// than any small batch.
func feedLog(t *testing.T) []byte { return feedLogWith(t, nil, nil) }

// readyPeers connects n inbound peers, named by the format idFormat, to
// the node of s and completes their handshakes, 1 ms apart.
func readyPeers(s *store.Store, clock *feedClock, idFormat string, n int) []state.PeerID {
	cfg := &s.State().Config
	ids := make([]state.PeerID, n)
	for i := range ids {
		clock.t += 1e6
		ids[i] = state.PeerID(fmt.Sprintf(idFormat, i))
		s.Dispatch(action.IncomingConnection{Peer: ids[i], Addr: state.Addr(fmt.Sprintf("/ip4/10.%d.0.1/tcp/4001", i+1))})
		hello := message.Hello{Version: 2, Network: cfg.Network, UnixTime: clock.t / 1e9, Nonce: uint64(i + 1), Channels: message.ChannelInfos(cfg)}
		s.Dispatch(action.MessageReceived{Peer: ids[i], Channel: state.ChannelControl, Data: message.Marshal(hello)})
	}
	return ids
}

// big is how many 1 MiB sync messages feedLogWith adds before the
// shutdown (with payloads recorded in full when the writer hook asks).
var big = 0

// feedLogWith is feedLog with a hook on the header and on the writer.
func feedLogWith(t *testing.T, header func(*Header), writer func(*Writer)) []byte {
	const epoch = int64(1_700_000_000) * 1e9
	cfg := state.DefaultConfig("feed")
	cfg.MaxInbound, cfg.MaxPendingInbound = 40, 40
	st := state.New(cfg, state.Self{ID: "self", ListenAddrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}, 1, epoch)
	var buf bytes.Buffer
	h := NewHeader(st, 1, 64)
	if header != nil {
		header(&h)
	}
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	if writer != nil {
		writer(w)
	}
	clock := &feedClock{t: epoch}
	s := store.New(st, nil, clock, store.Options{Observer: w, CheckpointEvery: 64})
	ids := readyPeers(s, clock, "peer-%02d", 40)
	for i := range 500 {
		clock.t += 1e6
		s.Dispatch(action.Tick{})
		s.Dispatch(action.MessageReceived{Peer: ids[i%len(ids)], Channel: state.ChannelControl, Data: message.Marshal(message.PingRequest{Nonce: uint64(i + 1)})})
	}
	for i := range big {
		clock.t += 1e9
		data := bytes.Repeat([]byte{byte(i)}, 1<<20)
		s.Dispatch(action.MessageReceived{Peer: ids[i%len(ids)], Channel: channel.Sync, Data: data})
	}
	clock.t += 1e6
	s.Dispatch(action.Shutdown{})
	if err := w.End(s.LastID(), s.State().Hash(), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type seen struct {
	id    uint64
	kind  action.Kind
	input bool
}

// replayWith replays data with the given batch size (0: no feed, Step
// reads each record itself) and returns every action it applied.
func replayWith(t *testing.T, data []byte, batch int) ([]seen, Summary) {
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), "feed.log")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReplayer(rd, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []seen
	r.OnAction = func(e Event) { got = append(got, seen{e.Meta.ID, e.Action.Kind(), e.Input}) }
	if batch > 0 {
		r.readAheadBy(batch)
		defer r.Close()
	}
	for {
		more, err := r.Step()
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if !more {
			break
		}
	}
	sum, err := r.Finish()
	if err != nil {
		t.Fatalf("batch %d: %v", batch, err)
	}
	return got, sum
}

// TestFeedMatchesSteps replays one log without reading ahead and with
// batches of many sizes, down to one record, which puts an input and what
// follows it across many batches: every replay applies the same actions
// and ends in the same state.
func TestFeedMatchesSteps(t *testing.T) {
	data := feedLog(t)
	if n := longestGroup(t, data); n < 20 {
		t.Fatalf("the longest run of records after an input is %d; the test needs inputs that span batches", n)
	}
	want, wantSum := replayWith(t, data, 0)
	if !wantSum.Complete || wantSum.Derived < 100 {
		t.Fatalf("the log should replay completely with many derived actions: %+v", wantSum)
	}
	for _, batch := range []int{1, 2, 3, 7, 64, feedBatch} {
		got, sum := replayWith(t, data, batch)
		if sum != wantSum {
			t.Errorf("batch %d: summary %+v, want %+v", batch, sum, wantSum)
		}
		if len(got) != len(want) {
			t.Fatalf("batch %d: %d actions, want %d", batch, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("batch %d: action %d is %+v, want %+v", batch, i, got[i], want[i])
			}
		}
	}
}

// TestFeedClose stops reading ahead half-way: Close returns, and a later
// Step says the replay is closed instead of waiting for records.
func TestFeedClose(t *testing.T) {
	data := feedLog(t)
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), "feed.log")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReplayer(rd, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.readAheadBy(2)
	for range 10 {
		if more, err := r.Step(); !more || err != nil {
			t.Fatalf("step: %v %v", more, err)
		}
	}
	r.Close()
	r.Close() // twice is harmless
	for {
		more, err := r.Step()
		if errors.Is(err, errClosed) {
			return
		}
		if err != nil || !more {
			t.Fatalf("after Close: %v %v, want errClosed", more, err)
		}
	}
}

// TestFeedReportsCorruption: a record broken half-way through the log is
// reported by a replay that reads ahead as by one that does not.
func TestFeedReportsCorruption(t *testing.T) {
	data := feedLog(t)
	data[len(data)/2] ^= 0x40
	errOf := func(batch int) error {
		rd, err := NewReader(bytes.NewReader(data), int64(len(data)), "feed.log")
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReplayer(rd, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if batch > 0 {
			r.readAheadBy(batch)
			defer r.Close()
		}
		for {
			more, err := r.Step()
			if err != nil {
				return err
			}
			if !more {
				_, err := r.Finish()
				return err
			}
		}
	}
	want := errOf(0)
	if want == nil {
		t.Fatal("a flipped byte went unnoticed")
	}
	for _, batch := range []int{1, 5, feedBatch} {
		if got := errOf(batch); got == nil || got.Error() != want.Error() {
			t.Errorf("batch %d: %v, want %v", batch, got, want)
		}
	}
}

// longestGroup is the most records the log has between two inputs.
func longestGroup(t *testing.T, data []byte) int {
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), "feed.log")
	if err != nil {
		t.Fatal(err)
	}
	longest, n := 0, 0
	for {
		rec, err := rd.Next()
		if err != nil {
			return longest
		}
		if rec.Type == RecordInput {
			n = 0
			continue
		}
		n++
		longest = max(longest, n)
	}
}

// TestPositionsWhileReadingAhead: the positions a replay reading ahead
// gives (NextInput) reopen the log at that input, with the same count of
// good records before it as a plain replay gives — the reader's own
// counters are ahead of the replay then, and a reopened reader must not
// take bytes its first read left buffered.
func TestPositionsWhileReadingAhead(t *testing.T) {
	data := feedLog(t)
	path := t.TempDir() + "/feed.log"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	positions := func(ahead bool) []Position {
		rd, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		r, err := NewReplayer(rd, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if ahead {
			r.readAheadBy(3)
			defer r.Close()
		}
		var out []Position
		for step := 0; ; step++ {
			if p, ok := r.NextInput(); ok && step%37 == 0 {
				out = append(out, p)
			}
			more, err := r.Step()
			if err != nil {
				t.Fatal(err)
			}
			if !more {
				return out
			}
		}
	}
	// Every input record as a plain reader reads it, by offset.
	inputs := map[int64]string{}
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), "feed.log")
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		if rec.Type == RecordInput {
			inputs[rec.Offset] = fmt.Sprintf("#%d %s", rec.Meta.ID, action.Format(rec.Action))
		}
	}
	plain, ahead := positions(false), positions(true)
	if len(plain) < 10 || len(plain) != len(ahead) {
		t.Fatalf("%d positions reading ahead, %d without", len(ahead), len(plain))
	}
	for i, p := range ahead {
		if !reflect.DeepEqual(p, plain[i]) {
			t.Fatalf("position %d: %+v reading ahead, %+v without", i, p, plain[i])
		}
		rd, err := OpenAt(path, p)
		if err != nil {
			t.Fatal(err)
		}
		var rec Record
		err = rd.NextInto(&rec)
		rd.Close()
		if err != nil || rec.Type != RecordInput {
			t.Fatalf("reopened at %+v: %v, a record of type %d", p, err, rec.Type)
		}
		if got := fmt.Sprintf("#%d %s", rec.Meta.ID, action.Format(rec.Action)); got != inputs[p.Offset] {
			t.Fatalf("reopened at %+v: read %s, the input there is %s", p, got, inputs[p.Offset])
		}
	}
}

// TestFeedBoundsBytes: a log of large payloads recorded in full is cut
// into batches by size as well as by count, and replays as a plain one.
func TestFeedBoundsBytes(t *testing.T) {
	big = 12
	defer func() { big = 0 }()
	data := feedLogWith(t, nil, func(w *Writer) { w.KeepPayloads() })
	if len(data) < 12<<20 {
		t.Fatalf("a log of %d bytes; the payloads were not recorded in full", len(data))
	}
	want, wantSum := replayWith(t, data, 0)
	got, sum := replayWith(t, data, feedBatch)
	if sum != wantSum || len(got) != len(want) {
		t.Fatalf("reading ahead: %+v (%d actions), plain: %+v (%d)", sum, len(got), wantSum, len(want))
	}
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), "feed.log")
	if err != nil {
		t.Fatal(err)
	}
	start := rd.Offset() // before the feed owns the reader
	f := startFeed(rd, feedBatch)
	defer f.close()
	short := 0
	for {
		b := f.receive()
		if b == nil {
			t.Fatal("the feed stopped without an end")
		}
		if b.err != nil {
			break
		}
		if b.n < feedBatch {
			// Cut by size: it reached feedBytes with its last record,
			// and not before.
			short++
			if b.offset-start < feedBytes || b.recs[b.n-1].Offset-start >= feedBytes {
				t.Fatalf("a batch of %d records from %d to %d, its last at %d, was cut short", b.n, start, b.offset, b.recs[b.n-1].Offset)
			}
		}
		start = b.offset
		f.free <- b
	}
	if short < 2 {
		t.Fatalf("%d batches cut by size, want several", short)
	}
}
