package hugepage

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestAnonymousPicksLargePrivateWritableMappings(t *testing.T) {
	maps := []byte(`00400000-00600000 r-xp 00000000 fe:00 1234 /usr/bin/p2pnode
c000000000-c004000000 rw-p 00000000 00:00 0 
c004000000-c008000000 ---p 00000000 00:00 0 
7f0000000000-7f0000100000 rw-p 00000000 00:00 0 
7f0000200000-7f0000600000 rw-p 00000000 00:00 0                          [anon: Go: heap]
7f0000600000-7f0000a00000 rw-p 00000000 00:00 0                          [heap]
7f0000a00000-7f0000e00000 rw-s 00000000 00:05 99 /dev/shm/x
7ffc83da3000-7ffc84da3000 rw-p 00000000 00:00 0                          [stack]
garbage line
`)
	got := anonymous(maps)
	want := [][2]uint64{{0xc000000000, 0xc004000000}, {0x7f0000200000, 0x7f0000600000}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("anonymous = %x, want %x", got, want)
	}
}

// TestBackMarksTheHeap checks, in /proc/self/smaps, that the mapping
// holding a large heap allocation is marked for huge pages ("hg" among its
// VmFlags) once Back has run. The mark is the kernel's record of the
// advice, whether or not it has huge pages to give right now.
func TestBackMarksTheHeap(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || bytes.Contains(b, []byte("[never]")) {
		t.Skip("transparent huge pages are off on this machine")
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	addr := uint64(reflect.ValueOf(&buf[0]).Pointer())
	if flagsOf(t, addr, "hg") {
		t.Skip("the heap is marked already (transparent_hugepage=always, or advised before)")
	}
	stop := Back(time.Hour)
	stop()
	if !flagsOf(t, addr, "hg") {
		t.Fatalf("the mapping at %#x is not marked for huge pages", addr)
	}
	if buf[12345] != byte(12345%256) {
		t.Fatal("the advice changed the heap's contents")
	}
}

// flagsOf reports whether the mapping holding addr has flag among its
// VmFlags in /proc/self/smaps.
func flagsOf(t *testing.T, addr uint64, flag string) bool {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	in := false
	for line := range bytes.Lines(smaps) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := bytes.Cut(f[0], []byte("-")); ok && len(f) >= 5 {
			start, err1 := strconv.ParseUint(string(lo), 16, 64)
			end, err2 := strconv.ParseUint(string(hi), 16, 64)
			in = err1 == nil && err2 == nil && start <= addr && addr < end
			continue
		}
		if in && string(f[0]) == "VmFlags:" {
			for _, x := range f[1:] {
				if string(x) == flag {
					return true
				}
			}
			return false
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return false
}
