package sim_test

import (
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/sim"
)

// The network answers Reach from a memo while its meshes, links,
// partitions and quiet nodes stay as they were. Under random fault
// schedules (partitions, one-way cuts, crashes and restarts, frozen
// nodes, loss), every memo answer is checked against a walk of the mesh;
// the memo must have answered, and never differently.
func TestReachMemoMatchesWalk(t *testing.T) {
	const nodes, seeds = 24, 8
	answered := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		d := 40 * time.Second
		s, err := sim.New(sim.Config{Nodes: nodes, Seed: seed, Duration: d, WarmUp: 2 * time.Second, TxRate: 40,
			Faults: sim.RandomFaults(seed, nodes, d)})
		if err != nil {
			t.Fatal(err)
		}
		s.Net.VerifyReach(true)
		if _, err := s.Run(); err != nil {
			t.Fatal(err)
		}
		a, bad := s.Net.ReachChecks()
		if bad != 0 {
			t.Errorf("seed %d: %d of %d memo answers differed from a walk of the mesh", seed, bad, a)
		}
		answered += a
	}
	if answered == 0 {
		t.Fatal("the memo never answered: nothing was checked")
	}
	t.Logf("%d memo answers checked", answered)
}
