package bad

// Packages that reach the process, the file system, the network, the
// runtime or a random seed, and everything under them.
import (
	_ "debug/elf"     // want import
	_ "embed"         // want import
	_ "flag"          // want import
	_ "hash/maphash"  // want import
	_ "io/fs"         // want import
	_ "io/ioutil"     // want import
	_ "log"           // want import
	_ "log/slog"      // want import
	_ "math/rand/v2"  // want import
	_ "net"           // want import
	_ "os/exec"       // want import
	_ "os/signal"     // want import
	_ "path/filepath" // want import
	_ "plugin"        // want import
	_ "runtime"       // want import
	_ "runtime/debug" // want import
	_ "sync/atomic"   // want import
	_ "syscall"       // want import
	_ "testing"       // want import
	_ "unsafe"        // want import
)
