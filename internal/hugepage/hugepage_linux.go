package hugepage

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// The advice values of madvise(2); the syscall package names neither.
const (
	madvHugepage = 14
	madvCollapse = 25
)

// adviser remembers the mappings it advised, so that each is collapsed
// once: a mapping that grows or merges with a new neighbour is a new range
// and is advised again.
type adviser struct {
	done map[[2]uint64]bool
}

// advise advises every large private anonymous read-write mapping not
// advised before, and returns how many it advised.
func (a *adviser) advise() int {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	if a.done == nil {
		a.done = make(map[[2]uint64]bool)
	}
	n := 0
	for _, r := range anonymous(maps) {
		if a.done[r] {
			continue
		}
		a.done[r] = true
		// Errors are the kernel declining: no THP, or no MADV_COLLAPSE
		// before Linux 6.1, or pages it could not gather right now.
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(r[0]), uintptr(r[1]-r[0]), madvHugepage)
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(r[0]), uintptr(r[1]-r[0]), madvCollapse)
		n++
	}
	return n
}

// anonymous returns the [start, end) of each private anonymous read-write
// mapping of at least MinMapping bytes listed in maps, the text of
// /proc/self/maps: lines of "start-end perms offset dev inode [path]".
func anonymous(maps []byte) [][2]uint64 {
	var out [][2]uint64
	for line := range bytes.Lines(maps) {
		f := bytes.Fields(line)
		// Anonymous: no path, or a name the program gave it (Go names
		// its mappings "[anon: Go: heap]" where the kernel allows).
		named := len(f) > 5 && string(f[5]) == "[anon:"
		if len(f) < 5 || (len(f) > 5 && !named) || string(f[1]) != "rw-p" || string(f[4]) != "0" {
			continue // a file, [stack] or [heap], or not writable
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end < start+MinMapping {
			continue
		}
		out = append(out, [2]uint64{start, end})
	}
	return out
}
