package sim

import "github.com/p2pcore/p2pcore/internal/gctune"

// TuneGC sets the garbage collector for a long simulation, unless GOGC or
// GOMEMLIMIT says otherwise: collect when the heap has grown fivefold
// (GOGC=400) rather than doubled, with a soft limit of 6 GiB that makes it
// collect harder as the heap nears it. A simulation keeps a large, stable
// heap (every node's state) and allocates fast around it; at the default
// the collector took a tenth of a 1,000-node run. Simulations are the same
// run, byte for byte, whatever the collector does.
func TuneGC() { gctune.Throughput(6 << 30) }
