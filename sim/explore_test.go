package sim_test

import (
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/sim"
)

// A small sweep of the fault explorer, as CI runs it: every seed's random
// faults heal, and the network recovers — safety after every input,
// liveness once healed.
func TestFaultExplorerSweep(t *testing.T) {
	e := sim.Explorer{Base: sim.Config{Nodes: 10, Duration: 90 * time.Second, TxRate: 10, BlockInterval: -1}}
	var seeds []uint64
	for s := uint64(1); s <= 16; s++ {
		seeds = append(seeds, s)
	}
	e.Run(seeds, func(v sim.Verdict) {
		if v.Failed() {
			t.Errorf("seed %d, faults %v:\n%v", v.Seed, v.Faults, v.Problems)
		}
	})
}

// The schedule is the seed's: the same seed, the same faults.
func TestRandomFaultsFollowTheSeed(t *testing.T) {
	a, b := sim.RandomFaults(7, 20, time.Minute), sim.RandomFaults(7, 20, time.Minute)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%v vs %v", a, b)
	}
	for i := range a {
		if a[i].At != b[i].At || a[i].Kind != b[i].Kind || len(a[i].Nodes) != len(b[i].Nodes) {
			t.Fatalf("%v vs %v", a, b)
		}
	}
	if c := sim.RandomFaults(8, 20, time.Minute); len(c) == len(a) && c[0].At == a[0].At {
		t.Errorf("seeds 7 and 8 drew the same schedule %v", a)
	}
}
