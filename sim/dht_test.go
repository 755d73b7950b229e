package sim_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/sim"
)

// runCapabilities runs the capability scenario and checks that every node
// found 4 archival peers within the run; it returns the record dir.
func runCapabilities(t *testing.T, nodes int, seed uint64, loss int) string {
	t.Helper()
	dir := t.TempDir()
	cfg := sim.Config{Nodes: nodes, Seed: seed, Duration: 60 * time.Second, RecordDir: dir, LossPPM: loss}
	sc := sim.CapabilityScenario{Capability: "archival", Every: 10}
	sc.Apply(&cfg)
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := sc.Found(s, time.Second)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var missing []int
	for i, d := range at {
		if d < 0 {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		t.Errorf("seed %d: %d of %d nodes did not find 4 archival peers within 60 s: %v", seed, len(missing), nodes, missing)
	}
	sorted := slices.Clone(at)
	slices.Sort(sorted)
	t.Logf("seed %d, %d nodes: found 4 archival peers after median %v, slowest %v", seed, nodes, sorted[len(sorted)/2], sorted[len(sorted)-1])
	for _, n := range s.Nodes {
		st := n.Store.State()
		if st.DHT.Advertisements == 0 && len(st.Config.Capabilities) > 0 {
			t.Errorf("%s never advertised", n.ID)
		}
	}
	return dir
}

// sameLogs compares every log of two record dirs byte for byte.
func sameLogs(t *testing.T, a, b string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(a, "*.log"))
	if len(files) == 0 {
		t.Fatal("no logs")
	}
	for _, f := range files {
		fa, _ := os.ReadFile(f)
		fb, _ := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if !bytes.Equal(fa, fb) {
			t.Errorf("%s differs between two runs of the same seed", filepath.Base(f))
		}
	}
}

// TestCapabilityDiscoverySmall is the CI variant of the capability
// scenario: 50 nodes, 10 % archival, 1 % loss; every node finds 4
// archival peers through the simulated DHT within 60 s, the logs are the
// same for the same seed, and one node's log replays.
func TestCapabilityDiscoverySmall(t *testing.T) {
	a := runCapabilities(t, 50, 3, 10_000)
	b := runCapabilities(t, 50, 3, 10_000)
	sameLogs(t, a, b)
	sum, err := replay.VerifyFile(filepath.Join(a, "node-007.log"), replay.Options{CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Complete || sum.Violations != 0 {
		t.Errorf("replay: %+v", sum)
	}
}

// TestCapabilityDiscovery200 is the scenario: 200 nodes, 10 %
// archival, three seeds, each run twice with byte-identical logs. It
// takes minutes, so it runs only with P2PCORE_LONG=1.
func TestCapabilityDiscovery200(t *testing.T) {
	if os.Getenv("P2PCORE_LONG") == "" {
		t.Skip("set P2PCORE_LONG=1 to run the 200-node capability scenario")
	}
	for _, seed := range []uint64{1, 2, 3} {
		a := runCapabilities(t, 200, seed, 0)
		b := runCapabilities(t, 200, seed, 0)
		sameLogs(t, a, b)
	}
}
