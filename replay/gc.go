package replay

import "github.com/p2pcore/p2pcore/internal/gctune"

// TuneGC sets the garbage collector for a long replay, as p2pnode replay
// runs one, unless GOGC or GOMEMLIMIT says otherwise, and returns the
// function that puts it back: collect when the heap has grown
// seventeenfold (GOGC=1600), with a soft limit of 4 GiB that makes it
// collect harder as the heap nears it. A replay allocates fast (a decoded
// action and a command for every input) around a small heap, a node's
// state of a few megabytes, so at the default it collected every few
// milliseconds, and for each collection's marking both goroutines ran
// with write barriers on and one of them shared its core with the
// collector. Replays of BenchmarkReplay's log, alternating, medians of
// 6–8: GOGC 400 1.91–2.24 M actions/s, 800 2.22 M, 1600 2.20–2.35 M.
// A replay's result does not depend on the collector.
func TuneGC() (restore func()) { return gctune.Throughput(1600, 4<<30) }
