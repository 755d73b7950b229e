// Package gctune sets the garbage collector for the batch jobs of
// p2pnode (simulations, replays), where throughput matters more than a
// small heap.
package gctune

import (
	"os"
	"runtime/debug"
)

// Throughput makes the collector run when the heap has grown by percent
// (GOGC=percent) rather than doubled, with a soft limit of limit bytes
// that makes it collect harder as the heap nears it — unless GOGC or
// GOMEMLIMIT in the environment say otherwise. Replays and simulations
// allocate fast around a heap that changes slowly (the states), and at the
// default the collector took a fifth of a replay's time. Neither replays
// nor simulations depend on the collector: their results are the same,
// byte for byte, whatever it does. The function it returns puts the
// collector back as it was.
func Throughput(percent int, limit int64) (restore func()) {
	old, memLimit := -2, int64(-1)
	if os.Getenv("GOGC") == "" {
		old = debug.SetGCPercent(percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		memLimit = debug.SetMemoryLimit(limit)
	}
	return func() {
		if old != -2 {
			debug.SetGCPercent(old)
		}
		if memLimit >= 0 {
			debug.SetMemoryLimit(memLimit)
		}
	}
}
