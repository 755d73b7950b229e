package replay

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// deliverLog is a format-4 log of 30 ready peers sending direct messages,
// each delivered (a command of the input itself), with a Tick now and
// then so that a writer's batch sometimes ends between an input and its
// commands.
func deliverLog(t *testing.T) []byte {
	const epoch = int64(1_700_000_000) * 1e9
	cfg := state.DefaultConfig("inline")
	cfg.MaxInbound, cfg.MaxPendingInbound = 30, 30
	st := state.New(cfg, state.Self{ID: "self", ListenAddrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}, 1, epoch)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, NewHeader(st, 1, 256))
	if err != nil {
		t.Fatal(err)
	}
	clock := &feedClock{t: epoch}
	s := store.New(st, nil, clock, store.Options{Observer: w, CheckpointEvery: 256})
	ids := readyPeers(s, clock, "12D3KooWInlinePeer%034d", 30)
	for i := range 6000 {
		clock.t += 100_000
		if i%97 == 0 {
			s.Dispatch(action.Tick{})
		}
		s.Dispatch(action.MessageReceived{Peer: ids[i%len(ids)], Channel: channel.Sync, Data: []byte(fmt.Sprint("message ", i))})
	}
	if err := w.End(s.LastID(), s.State().Hash(), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestInputCommandsInline: in a format-4 log an input's commands sit in
// the input's own record, except where a batch ended between them; both
// forms replay, read ahead in batches of every size or not, and a replay
// whose commands differ stops at the input, whichever form the log has.
func TestInputCommandsInline(t *testing.T) {
	data := deliverLog(t)
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), "inline.log")
	if err != nil {
		t.Fatal(err)
	}
	inline := map[uint64]bool{} // input ID → commands in its own record
	var last *Record
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		switch {
		case rec.Type == RecordInput && rec.Kind == action.KindMessageReceived && len(rec.Commands) > 0:
			inline[rec.Meta.ID] = true
		case rec.Type == RecordCommands && last != nil && last.Type == RecordInput && last.Kind == action.KindMessageReceived:
			inline[last.Meta.ID] = false
		}
		last = rec
	}
	var in, apart []uint64
	for id, ok := range inline {
		if ok {
			in = append(in, id)
		} else {
			apart = append(apart, id)
		}
	}
	if len(in) < 5000 || len(apart) == 0 {
		t.Fatalf("%d inputs with their commands inline, %d apart: the test needs both", len(in), len(apart))
	}
	_, want := replayWith(t, data, 0)
	if !want.Complete {
		t.Fatalf("incomplete: %+v", want)
	}
	for _, batch := range []int{1, 2, 5, feedBatch} {
		if _, got := replayWith(t, data, batch); got != want {
			t.Fatalf("batch %d: %+v, without reading ahead %+v", batch, got, want)
		}
	}

	for _, id := range []uint64{in[len(in)/2], apart[0]} {
		for _, change := range []string{"differs", "none"} {
			intercept := func(_ *state.State, m action.Meta, _ action.Action, cmds []service.Command) []service.Command {
				if m.ID != id {
					return cmds
				}
				if change == "none" {
					return nil
				}
				d := *cmds[0].(*service.Deliver)
				d.Data = append([]byte("changed "), d.Data...)
				return []service.Command{&d}
			}
			rd, _ := NewReader(bytes.NewReader(data), int64(len(data)), "inline.log")
			r, err := NewReplayer(rd, Options{Intercept: intercept})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Run()
			de, ok := err.(*DivergenceError)
			wantWhat := map[string]string{"differs": "command 1 of 1", "none": "in the replay none"}[change]
			if !ok || de.ID != id || de.Kind != action.KindMessageReceived || !strings.Contains(de.What, wantWhat) {
				t.Errorf("input #%d (inline %v), commands %s: %v; want a divergence at #%d saying %q", id, inline[id], change, err, id, wantWhat)
			}
		}
	}
}

// TestLargeInputKeepsItsCommandsApart: an input whose payload nearly
// fills a record (recorded in full) and whose commands would push it past
// MaxRecord gets them in a record of their own, and the log reads back.
// Through a Writer such an input always ends its batch, which parts it
// from its commands anyway; the encoder is driven directly here.
func TestLargeInputKeepsItsCommandsApart(t *testing.T) {
	st := state.New(state.DefaultConfig("t"), state.Self{ID: "self"}, 1, 0)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, NewHeader(st, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	w.KeepPayloads()
	ds := make([]service.Digest, 6000)
	for i := range ds {
		ds[i] = service.Digest{Kind: service.CmdSend, Channel: 1, Size: 1 << 20, Sum: [8]byte{byte(i)}}
	}
	cmds := make([]service.Command, len(ds)) // nil: the next of ds
	e := &w.enc
	e.input(action.Meta{ID: 1, Time: 1}, action.MessageReceived{Peer: "p", Channel: 2, Data: make([]byte, action.MaxData)}, cmds, ds)
	e.input(action.Meta{ID: 2, Time: 2}, action.MessageReceived{Peer: "p", Channel: 2, Data: []byte("small")}, cmds[:2], ds[:2])
	e.flush()
	if e.err != nil {
		t.Fatal(e.err)
	}
	rd, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "big.log")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, err := rd.Next()
		if err != nil {
			if !IsTorn(err) { // no end record: written directly
				t.Fatal(err)
			}
			break
		}
		got = append(got, fmt.Sprintf("%s/%d", recordName(rec.Type), len(rec.Commands)))
	}
	if want := "input/0 commands/6000 input/2"; strings.Join(got, " ") != want {
		t.Fatalf("records %v, want %s", got, want)
	}
}
