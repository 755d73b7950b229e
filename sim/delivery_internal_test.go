package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// The latency histogram's percentiles are the exact ones to its 10 µs
// resolution, outliers past 10 s included.
func TestLatencyHistogramQuantiles(t *testing.T) {
	rng := state.NewRNG(4)
	var h latencyHistogram
	var all []int64
	for i := 0; i < 50_000; i++ {
		d := rng.Int63n(int64(300 * time.Millisecond))
		if i%1000 == 0 {
			d = int64(20*time.Second) + rng.Int63n(int64(time.Second))
		}
		h.add(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []int{0, 1, 50, 90, 99, 100} {
		want := all[(len(all)-1)*q/100]
		got := h.quantile(q)
		if got > want || want-got >= latencyBucket {
			t.Errorf("p%d: %v, want %v (to %v)", q, time.Duration(got), time.Duration(want), time.Duration(latencyBucket))
		}
	}
}
