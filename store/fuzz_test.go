package store_test

import (
	"bytes"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// FuzzActions turns bytes into a sequence of input actions and runs them
// through a store: any action in any state, the way a hostile network and
// a careless caller could produce them. After every input the invariants
// must hold (State.Check); the sequence, run again on a fresh store, must
// give the same state hash after every input; and its recorded log must
// replay and verify.
//
// The generator (fuzzsteps.Generator) knows the protocol well enough to
// get deep; the node (fuzzsteps.DefaultConfig) has small limits.
func FuzzActions(f *testing.F) {
	for _, seed := range fuzzsteps.Seeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runActions(t, data)
	})
}

// input is one generated action and the clock reading it is dispatched at.
type input struct {
	at int64
	a  action.Action
}

type fuzzClock struct{ t int64 }

func (c *fuzzClock) Now() int64 { return c.t }

const fuzzEpoch = fuzzsteps.Epoch

func runActions(t *testing.T, data []byte) {
	cfg, self := fuzzsteps.DefaultConfig(), fuzzsteps.DefaultSelf()
	var log bytes.Buffer
	st := state.New(cfg, self, 7, fuzzEpoch)
	w, err := replay.NewWriter(&log, replay.NewHeader(st, 7, 16))
	if err != nil {
		t.Fatal(err)
	}
	clock := &fuzzClock{t: fuzzEpoch}
	s := store.New(st, nil, clock, store.Options{Observer: w, CheckpointEvery: 16})
	g := fuzzsteps.NewGenerator(data)
	var inputs []input
	var hashes []state.Hash
	for i := 0; i < 400 && !g.Done(); i++ {
		step, a := g.Next(s.State())
		clock.t += int64(step)
		inputs = append(inputs, input{clock.t, a})
		s.Dispatch(a)
		if err := s.State().Check(); err != nil {
			t.Fatalf("after input %d (%s):\n%v", i, action.Format(a), err)
		}
		hashes = append(hashes, s.State().Hash())
	}
	if err := w.End(s.LastID(), s.State().Hash(), nil); err != nil {
		t.Fatal(err)
	}

	// The same inputs on a fresh store give the same hash after each.
	st2 := state.New(cfg, self, 7, fuzzEpoch)
	clock2 := &fuzzClock{}
	s2 := store.New(st2, nil, clock2, store.Options{CheckpointEvery: 16})
	for i, in := range inputs {
		clock2.t = in.at
		s2.Dispatch(in.a)
		if h := s2.State().Hash(); h != hashes[i] {
			t.Fatalf("input %d (%s): second run hashes to %s, first to %s\n%s",
				i, action.Format(in.a), h.Short(), hashes[i].Short(), replay.Diff(st2, s.State()))
		}
	}

	// The recorded log replays and verifies.
	rd, err := replay.NewReader(bytes.NewReader(log.Bytes()), int64(log.Len()), "fuzz.log")
	if err != nil {
		t.Fatal(err)
	}
	r, err := replay.NewReplayer(rd, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(); err != nil {
		t.Fatalf("replaying the recorded sequence: %v", err)
	}
}
