package sim_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/sim"
	"github.com/p2pcore/p2pcore/state"
)

// The faults beyond partitions and crashes, in one run: a node crashes and
// comes back with the peer store it saved, two nodes can only receive for
// a while, the network loses a third of everything for a while, a node is
// slow, one node's clock steps back within the allowed skew. Every log,
// the restarted node's two included, verifies.
func TestMoreFaults(t *testing.T) {
	dir := t.TempDir()
	s, err := sim.New(sim.Config{Nodes: 20, Seed: 8, Duration: 120 * time.Second, WarmUp: 10 * time.Second, RecordDir: dir, TxRate: 20,
		// Saved every 5 s, so that node 3 has saved its book when it crashes.
		Tweak: func(_ int, c *state.Config) { c.SaveInterval = 5 * time.Second },
		Faults: []sim.Fault{
			{At: 10 * time.Second, Kind: sim.FaultCrash, Nodes: []int{3}},
			{At: 12 * time.Second, Kind: sim.FaultOneWay, Nodes: []int{5, 6}},
			{At: 14 * time.Second, Kind: sim.FaultLoss, Value: 0.3},
			{At: 15 * time.Second, Kind: sim.FaultSlow, Nodes: []int{7}, Value: 0.5},
			{At: 16 * time.Second, Kind: sim.FaultClock, Nodes: []int{8}, Value: -5},
			{At: 20 * time.Second, Kind: sim.FaultRestart, Nodes: []int{3}},
			{At: 30 * time.Second, Kind: sim.FaultHeal},
		}})
	if err != nil {
		t.Fatal(err)
	}
	s.RunFor(20*time.Second + time.Millisecond)
	restarted := s.Nodes[3]
	if restarted.EP.Down() {
		t.Fatal("node 3 is still down after its restart")
	}
	if n := len(restarted.Store.State().Discovery.Book); n < 5 {
		t.Errorf("node 3 came back knowing %d peers; it should have loaded the peer store it saved", n)
	}
	r, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	if r.Violations != 0 {
		t.Fatalf("%d invariant violations", r.Violations)
	}
	for _, n := range r.PerNode {
		if !n.AtTarget {
			t.Errorf("%s: %d/%d outbound at the end", n.ID, n.OutboundReady, n.OutboundTarget)
		}
	}
	m := r.Delivery.Missing
	if m.Partition == 0 {
		t.Errorf("the one-way cut lost nothing: %+v", m)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) != 21 {
		t.Fatalf("%d logs, want 20 and the restarted node's second", len(logs))
	}
	if _, err := os.Stat(filepath.Join(dir, "node-003.restart-1.log")); err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		if _, err := replay.VerifyFile(l, replay.Options{}); err != nil {
			t.Errorf("%s: %v", filepath.Base(l), err)
		}
	}
	t.Logf("missing deliveries: %+v", m)
}

// A node whose clock steps beyond MaxClockSkew is refused by its peers
// (and refuses them) at their next handshakes; the report does not count
// it as a peer the others could still dial.
func TestClockStepBeyondSkew(t *testing.T) {
	s, err := sim.New(sim.Config{Nodes: 12, Seed: 3, Duration: 60 * time.Second, TxRate: 10, Faults: []sim.Fault{
		{At: 5 * time.Second, Kind: sim.FaultClock, Nodes: []int{9}, Value: 60},
		{At: 6 * time.Second, Kind: sim.FaultCrash, Nodes: []int{9}},
		{At: 7 * time.Second, Kind: sim.FaultRestart, Nodes: []int{9}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	c := s.Nodes[9].Store.State().Counters
	if c.RemoteDisconnects[state.ReasonClockSkew]+c.Disconnects[state.ReasonClockSkew] == 0 {
		t.Error("node 9's clock is 60 s ahead, yet no handshake was refused for clock skew")
	}
	if got := s.Nodes[9].Store.State().Counts().Ready; got != 0 {
		t.Errorf("node 9, 60 s ahead, has %d ready peers", got)
	}
	for _, n := range r.PerNode {
		if n.ID != string(sim.NodeID(9)) && !n.AtTarget {
			t.Errorf("%s: %d/%d outbound at the end", n.ID, n.OutboundReady, n.OutboundTarget)
		}
	}
}

func TestCheckRestarts(t *testing.T) {
	crash := func(at time.Duration, i int) sim.Fault {
		return sim.Fault{At: at, Kind: sim.FaultCrash, Nodes: []int{i}}
	}
	restart := func(at time.Duration, i int) sim.Fault {
		return sim.Fault{At: at, Kind: sim.FaultRestart, Nodes: []int{i}}
	}
	for _, tc := range []struct {
		name   string
		faults []sim.Fault
		bad    bool
	}{
		{"crash then restart", []sim.Fault{crash(time.Second, 1), restart(2*time.Second, 1)}, false},
		{"listed out of order", []sim.Fault{restart(2*time.Second, 1), crash(time.Second, 1)}, false},
		{"same time, crash first", []sim.Fault{crash(time.Second, 1), restart(time.Second, 1)}, false},
		{"never crashed", []sim.Fault{restart(time.Second, 1)}, true},
		{"another node crashed", []sim.Fault{crash(time.Second, 2), restart(2*time.Second, 1)}, true},
		{"restart before its crash", []sim.Fault{crash(2*time.Second, 1), restart(time.Second, 1)}, true},
		{"restarted twice", []sim.Fault{crash(time.Second, 1), restart(2*time.Second, 1), restart(3*time.Second, 1)}, true},
	} {
		if err := sim.CheckRestarts(tc.faults); (err != nil) != tc.bad {
			t.Errorf("%s: CheckRestarts = %v, want an error: %v", tc.name, err, tc.bad)
		}
	}
}
