package replay_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/sim"
)

// Record a small simulation, then verify one node's log: every input is
// replayed through the reducers and every derived action and state-hash
// checkpoint is checked against the log.
func ExampleVerifyFile() {
	dir, _ := os.MkdirTemp("", "p2pcore-example-")
	defer os.RemoveAll(dir)
	s, err := sim.New(sim.Config{Nodes: 3, Seed: 7, Duration: 10 * time.Second, RecordDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		log.Fatal(err)
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	sum, err := replay.VerifyFile(logs[0], replay.Options{CheckInvariants: true})
	fmt.Println("verified:", err == nil, "complete:", sum.Complete, "checkpoints > 0:", sum.Checkpoints > 0)
	// Output: verified: true complete: true checkpoints > 0: true
}
