package sim_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/sim"
)

// TestTenNodeSimulationRecordsAndReplays is the acceptance run of the
// deterministic core: ten nodes for a simulated minute, well over 100,000
// actions, every node recorded, and every log replayed with all its
// checkpoints and its end hash verified.
func TestTenNodeSimulationRecordsAndReplays(t *testing.T) {
	dir := t.TempDir()
	s, err := sim.New(sim.Config{Nodes: 10, Seed: 42, Duration: 60 * time.Second, RecordDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	report, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	if report.Actions < 100_000 {
		t.Errorf("%d actions; the acceptance run needs at least 100,000", report.Actions)
	}
	if report.Violations != 0 {
		t.Errorf("%d invariant violations", report.Violations)
	}
	if report.AtTarget != 10 {
		t.Errorf("%d of 10 nodes at their outbound target", report.AtTarget)
	}
	if d := report.Delivery; d.Delivered != d.Expected || d.Expected == 0 {
		t.Errorf("delivered %d of %d broadcasts", d.Delivered, d.Expected)
	}
	var replayed, checkpoints uint64
	for _, n := range s.Nodes {
		sum, err := replay.VerifyFile(n.Path, replay.Options{CheckInvariants: true})
		if err != nil {
			t.Fatalf("%s: %v", n.ID, err)
		}
		if !sum.Complete || sum.Checkpoints == 0 || sum.Violations != 0 {
			t.Errorf("%s: complete=%v checkpoints=%d violations=%d", n.ID, sum.Complete, sum.Checkpoints, sum.Violations)
		}
		replayed += sum.Inputs + sum.Derived
		checkpoints += sum.Checkpoints
	}
	if replayed != report.Actions {
		t.Errorf("replayed %d actions, the run dispatched %d", replayed, report.Actions)
	}
	t.Logf("%d actions, %d checkpoints verified", replayed, checkpoints)
}

// TestSameSeedSameLogs: a seed reproduces a run byte for byte; another seed
// gives another run.
func TestSameSeedSameLogs(t *testing.T) {
	run := func(seed uint64) string {
		dir := t.TempDir()
		s, err := sim.New(sim.Config{Nodes: 6, Seed: seed, Duration: 20 * time.Second, RecordDir: dir, LossPPM: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a, b, c := run(5), run(5), run(6)
	files, _ := filepath.Glob(filepath.Join(a, "*.log"))
	if len(files) != 6 {
		t.Fatalf("%d logs", len(files))
	}
	differs := false
	for _, f := range files {
		fa, _ := os.ReadFile(f)
		fb, _ := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		fc, _ := os.ReadFile(filepath.Join(c, filepath.Base(f)))
		if !bytes.Equal(fa, fb) {
			t.Errorf("%s differs between two runs of seed 5", filepath.Base(f))
		}
		differs = differs || !bytes.Equal(fa, fc)
	}
	if !differs {
		t.Error("seeds 5 and 6 gave identical logs")
	}
}
