package inspect

import (
	"github.com/p2pcore/p2pcore/node"
)

// Timings are a running node's per-kind times as the page shows them
// (ServerOptions.Timings).
type Timings struct {
	// Buckets label the histogram's buckets, e.g. "≤10µs", ">50ms".
	Buckets []string     `json:"buckets"`
	Kinds   []KindTiming `json:"kinds"`
}

// KindTiming is one kind's times: reducer and effects (mean and max, in
// ns) and a histogram of the two together.
type KindTiming struct {
	Kind          string   `json:"kind"`
	Count         uint64   `json:"count"`
	ReduceMeanNS  int64    `json:"reduce_mean_ns"`
	ReduceMaxNS   int64    `json:"reduce_max_ns"`
	EffectsMeanNS int64    `json:"effects_mean_ns"`
	EffectsMaxNS  int64    `json:"effects_max_ns"`
	Histogram     []uint64 `json:"histogram"`
}

// NodeTimings reads n's metrics (node.Config.Metrics) for the page; nil
// when the node measures none.
func NodeTimings(n *node.Node) *Timings {
	m, ok := n.Metrics()
	if !ok {
		return nil
	}
	last := node.TimingBuckets[len(node.TimingBuckets)-1]
	t := &Timings{Kinds: []KindTiming{}}
	for _, b := range node.TimingBuckets {
		t.Buckets = append(t.Buckets, "≤"+b.String())
	}
	t.Buckets = append(t.Buckets, ">"+last.String())
	for _, k := range m.Kinds {
		if k.Enabled == 0 {
			continue
		}
		t.Kinds = append(t.Kinds, KindTiming{Kind: k.Kind.String(), Count: k.Enabled,
			ReduceMeanNS: int64(k.Reduce.Mean()), ReduceMaxNS: int64(k.Reduce.Max),
			EffectsMeanNS: int64(k.Effects.Mean()), EffectsMaxNS: int64(k.Effects.Max), Histogram: k.Total.Buckets})
	}
	return t
}

// LiveOptions serve the log a running node is writing: Reload reads it
// again, Timings shows the node's own measurements.
func LiveOptions(n *node.Node, record, token string) ServerOptions {
	return ServerOptions{
		Token: token,
		Reload: func() ([]*Log, error) {
			l, err := Load(record, Options{})
			if err != nil {
				return nil, err
			}
			return []*Log{l}, nil
		},
		Timings: func() any {
			if t := NodeTimings(n); t != nil {
				return t
			}
			return nil
		},
	}
}
