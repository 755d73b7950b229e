package fuzzsteps_test

import (
	"fmt"
	"testing"

	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/state"
)

// readyMeansHandshake is the README's example of an invariant of one's own.
// (State.Check holds it too; a user's invariant would say something the
// built-in ones do not.)
var readyMeansHandshake = fuzzsteps.Invariant{
	Name: "no peer is Ready without a completed handshake",
	Check: func(s *state.State) error {
		for id, p := range s.Peers {
			if p.Status == state.StatusReady && !p.Handshake.Done {
				return fmt.Errorf("peer %s is Ready, its handshake is not done", id)
			}
		}
		return nil
	},
}

// FuzzNoReadyWithoutHandshake is a step-through fuzz test with a user's
// invariant, as the package documentation shows it.
func FuzzNoReadyWithoutHandshake(f *testing.F) {
	h := fuzzsteps.Harness{Invariants: []fuzzsteps.Invariant{readyMeansHandshake}}
	h.AddSeeds(f)
	f.Fuzz(h.Fuzz)
}
