package sim

import (
	"os"
	"runtime/debug"
)

// TuneGC sets the garbage collector for a long simulation, unless GOGC or
// GOMEMLIMIT says otherwise: collect when the heap has grown fivefold
// (GOGC=400) rather than doubled, with a soft limit of 6 GiB that makes it
// collect harder as the heap nears it. A simulation keeps a large, stable
// heap (every node's state) and allocates fast around it; at the default
// the collector took a tenth of a 1,000-node run. Simulations are the same
// run, byte for byte, whatever the collector does.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(6 << 30)
	}
}
