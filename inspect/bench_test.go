package inspect

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/sim"
)

var (
	bigOnce sync.Once
	bigLog  string
	bigErr  error
)

// millionActionLog records a simulation whose first node's log holds at
// least a million actions: two nodes trading 8,000 small transactions a
// second for 90 simulated seconds (about 10 s of CPU).
func millionActionLog(b *testing.B) string {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "p2pcore-inspect-bench-")
		if err != nil {
			bigErr = err
			return
		}
		s, err := sim.New(sim.Config{Nodes: 2, Seed: 1, Duration: 90 * time.Second, TxRate: 8000, TxSize: 32,
			BlockInterval: -1, RecordDir: dir})
		if err != nil {
			bigErr = err
			return
		}
		if _, err := s.Run(); err != nil {
			bigErr = err
			return
		}
		bigErr = s.Close()
		bigLog = filepath.Join(dir, "node-000.log")
		simDir2 = dir
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigLog
}

// simDir2 is removed by TestMain.
var simDir2 string

// BenchmarkJump is `p2pnode inspect`'s jump on a million-action log: the
// state before and after a random action, its diff's inputs and its
// commands, from the nearest snapshot. It reports the load too.
func BenchmarkJump(b *testing.B) {
	path := millionActionLog(b)
	start := time.Now()
	l, err := Load(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	if l.Len() < 1_000_000 {
		b.Fatalf("the log has %d actions, want a million", l.Len())
	}
	if !l.Verified {
		b.Fatalf("the log did not verify: %v", l.Problem)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var worst time.Duration
	var replayed uint64
	n := 0
	for b.Loop() {
		id := 1 + rng.Uint64N(l.Len())
		t := time.Now()
		p, err := l.At(id)
		if err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(t))
		replayed += p.Replayed
		n++
	}
	b.ReportMetric(float64(l.Len()), "actions")
	b.ReportMetric(load.Seconds(), "load-s")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
	b.ReportMetric(float64(replayed)/float64(n), "replayed/op")
}
