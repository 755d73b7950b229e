package store_test

import (
	"testing"

	"github.com/p2pcore/p2pcore/fuzzsteps"
)

// FuzzActions turns bytes into a sequence of input actions
// (fuzzsteps.Generator) and runs them through a store: any action in any
// state, the way a hostile network and a careless caller could produce
// them. After every input the invariants must hold (State.Check); the
// sequence, run again on a fresh store, must give the same state hash after
// every input; and its recorded log must replay and verify. A failure
// writes the action log to testdata/fuzzsteps and prints the p2pnode replay
// commands that show it (see package fuzzsteps).
//
// The corpus under testdata/fuzz/FuzzActions is read by fuzzsteps.Generator
// on a node of fuzzsteps.DefaultConfig with state seed 7.
func FuzzActions(f *testing.F) {
	h := fuzzsteps.Harness{Seed: 7}
	h.AddSeeds(f)
	f.Fuzz(h.Fuzz)
}
