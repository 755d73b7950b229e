package sim_test

import (
	"fmt"
	"log"
	"time"

	"github.com/p2pcore/p2pcore/sim"
)

// A seeded simulation of 10 nodes that know one bootnode: after a simulated
// minute every node has its outbound peers. The same seed gives the same
// run, action for action.
func Example() {
	s, err := sim.New(sim.Config{Nodes: 10, Seed: 42, Duration: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	report, err := s.Run()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("nodes at their outbound target:", report.AtTarget, "of", report.Nodes)
	fmt.Println("invariant violations:", report.Violations)
	// Output:
	// nodes at their outbound target: 10 of 10
	// invariant violations: 0
}
