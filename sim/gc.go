package sim

import (
	"time"

	"github.com/p2pcore/p2pcore/internal/gctune"
	"github.com/p2pcore/p2pcore/internal/hugepage"
)

// TuneGC sets the garbage collector for a long simulation, unless GOGC or
// GOMEMLIMIT says otherwise: collect when the heap has grown threefold
// (GOGC=200) rather than doubled, with a soft limit of 6 GiB that makes it
// collect harder as the heap nears it. A simulation keeps a large, stable
// heap (every node's state) and allocates fast around it; at the default
// the collector took a tenth of a 1,000-node run. A heap let grow further
// (GOGC=400, used until this was measured) was twice as large and no
// faster: a simulation spends its time on cache and TLB misses in the
// nodes' states, and garbage spread between them adds to those. In
// alternating 1,000-node runs, 400 was never the fastest of 100, 200 and
// 400. Simulations are the same run, byte for byte, whatever the
// collector does.
func TuneGC() { gctune.Throughput(200, 6<<30) }

// TuneExplorerGC sets the collector for the fault explorer, unless GOGC
// or GOMEMLIMIT says otherwise: GOGC=400 with the same soft limit. The
// explorer runs small simulations on every core at once, so there is no
// idle core for the collector and no large heap whose misses garbage
// would add to: collecting less often is faster (100 ten-node seeds took
// 9.6-11.6 s at 400 against 11.0-12.4 s at 200).
func TuneExplorerGC() { gctune.Throughput(400, 6<<30) }

// BackWithHugePages asks Linux to back the heap of a long simulation with
// transparent huge pages (see internal/hugepage), checking every second as
// the heap grows, until the returned function is called. A large
// simulation's time goes to misses in the nodes' states, and with 4 KiB
// pages most of them miss the TLB as well: 1,000-node runs made beside
// runs without it, at the same time on the two cores, were 8–9 % faster. It
// changes nothing in what a simulation computes. The fault explorer's
// small simulations do not need it.
func BackWithHugePages() (stop func()) { return hugepage.Back(time.Second) }
