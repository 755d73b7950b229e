package sim_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/sim"
)

// The simulator at scale, as `make bench-sim` tables it: each benchmark
// runs one whole simulation per iteration (invariants checked after every
// input, no logs written) and reports wall time per simulated minute, the
// speed against real time, events and actions per second, whether every
// node reached its outbound target, delivery after the warm-up, gossip
// amplification and the heap in use at the end.

func BenchmarkSim100(b *testing.B)  { benchSim(b, sim.Config{Nodes: 100, Duration: time.Minute}) }
func BenchmarkSim1000(b *testing.B) { benchSim(b, sim.Config{Nodes: 1000, Duration: time.Minute}) }

// BenchmarkSim1000Boot3 starts the 1,000 nodes from three bootnodes.
func BenchmarkSim1000Boot3(b *testing.B) {
	benchSim(b, sim.Config{Nodes: 1000, Duration: time.Minute, Bootnodes: 3})
}

func benchSim(b *testing.B, cfg sim.Config) {
	sim.TuneGC() // as p2pnode sim runs
	defer sim.BackWithHugePages()()
	var wall time.Duration
	var r *sim.Report
	var heap uint64
	for i := 0; i < b.N; i++ {
		cfg.Seed = uint64(i + 1)
		start := time.Now()
		s, err := sim.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if r, err = s.Run(); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapInuse)
		runtime.KeepAlive(s)
	}
	if r.Violations > 0 {
		b.Fatalf("%d invariant violations", r.Violations)
	}
	secs := wall.Seconds() / float64(b.N)
	d := r.Delivery
	b.ReportMetric(secs, "wall-s")
	b.ReportMetric(cfg.Duration.Seconds()/secs, "x-realtime")
	b.ReportMetric(float64(r.Events)/secs, "events/s")
	b.ReportMetric(float64(r.Actions)/secs, "actions/s")
	b.ReportMetric(float64(r.AtTarget), "at-target")
	b.ReportMetric(float64(r.Nodes), "nodes")
	b.ReportMetric(100*float64(d.Delivered)/float64(max(1, d.Expected)), "delivered-%")
	b.ReportMetric(float64(d.Missing.Unexplained), "unexplained")
	b.ReportMetric(r.Gossip.Amplification, "amplification")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(0, "ns/op")
}
