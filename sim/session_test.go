package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

var fullSessions = flag.Bool("sessions.full", false, "run the full session scenario (50 nodes × 10 chains × 10 sessions) for 3 seeds")

// sessionScenario is the Chainweb prototype: nodes × chains session
// networks of target sessions each, on the simulated network.
func sessionScenario(nodes, chains, target int, seed uint64, d time.Duration, dir string) Config {
	return Config{
		Nodes: nodes, Seed: seed, Duration: d, RecordDir: dir, Bootnodes: 2,
		TxRate: -1, BlockInterval: -1, WarmUp: d / 2,
		// Sessions run on the connections the node keeps: enough
		// outbound peers that every chain finds Target of them.
		Tweak:    func(_ int, c *state.Config) { c.OutboundTarget = target + 2 },
		Sessions: &Sessions{Chains: chains, Target: target, Timeout: 20 * time.Second},
	}
}

// TestSessionScenario runs the session scenario twice per seed, checks
// that every node keeps its target on every chain after the warm-up
// within its connection limits, that the two runs' logs are byte for byte
// the same, and that every log replays. CI runs 12 nodes × 4 chains × 5
// sessions; -sessions.full runs the 50 × 10 × 10 for 3 seeds.
func TestSessionScenario(t *testing.T) {
	nodes, chains, target, d := 12, 4, 5, 60*time.Second
	seeds := []uint64{1}
	if *fullSessions {
		nodes, chains, target, d = 50, 10, 10, 120*time.Second
		seeds = []uint64{1, 2, 3}
	}
	if testing.Short() && !*fullSessions {
		d = 40 * time.Second
	}
	for _, seed := range seeds {
		var logs [2]string
		var reports [2]SessionReport
		for run := range 2 {
			dir := t.TempDir()
			s, err := New(sessionScenario(nodes, chains, target, seed, d, dir))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := s.Run(); err != nil {
				t.Fatal(err)
			}
			reports[run] = s.SessionReport()
			t.Logf("seed %d run %d: %v of CPU-bound wall time\n%s", seed, run, time.Since(start).Round(time.Millisecond), reports[run])
			logs[run] = dir
		}
		r := reports[0]
		if r != reports[1] {
			t.Errorf("seed %d: the two runs differ:\n%s\n%s", seed, reports[0], reports[1])
		}
		if r.Samples == 0 || r.BelowTarget > 0 {
			t.Errorf("seed %d: %d of %d node-chain samples below the target of %d (fewest %d)", seed, r.BelowTarget, r.Samples*nodes*chains, target, r.MinOutbound)
		}
		if r.MaxConnections > r.LimitConnections {
			t.Errorf("seed %d: a node had %d connections, limit %d", seed, r.MaxConnections, r.LimitConnections)
		}
		if r.Started == 0 || r.Failed > r.Started/100 {
			t.Errorf("seed %d: %d sessions started, %d failed", seed, r.Started, r.Failed)
		}
		files, _ := filepath.Glob(filepath.Join(logs[0], "*.log"))
		if len(files) != nodes {
			t.Fatalf("seed %d: %d logs for %d nodes", seed, len(files), nodes)
		}
		for _, f := range files {
			a, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(logs[1], filepath.Base(f)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("seed %d: %s differs between the two runs", seed, filepath.Base(f))
			}
		}
		// Every log replays, with the same scheduling decisions (the
		// replayer checks every derived action and checkpoint).
		for _, f := range files[:min(len(files), 3)] {
			if err := verifyLog(f); err != nil {
				t.Errorf("seed %d: replaying %s: %v", seed, filepath.Base(f), err)
			}
		}
	}
}

// verifyLog replays a log through the reducers and checks it.
func verifyLog(path string) error {
	rd, err := replay.Open(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	r, err := replay.NewReplayer(rd, replay.Options{})
	if err != nil {
		return err
	}
	_, err = r.Run()
	return err
}
