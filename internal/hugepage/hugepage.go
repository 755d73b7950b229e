// Package hugepage asks Linux to back the process's large anonymous
// mappings — the Go heap — with transparent huge pages.
//
// A large simulation spends most of its time on cache and TLB misses in a
// thousand nodes' states spread over a gigabyte or more of heap. With 4 KiB
// pages nearly every such miss is a TLB miss too; with 2 MiB pages most are
// not. Go does not ask for huge pages for its heap, and most Linux systems
// give them only where a program asks (transparent_hugepage=madvise), so the
// simulator asks: it marks each large private anonymous mapping with
// MADV_HUGEPAGE, so that the kernel's khugepaged and later page faults use
// huge pages there, and MADV_COLLAPSE (Linux 6.1 and later) turns the pages
// already there into huge ones at once. Neither changes what the program
// computes; both are hints the kernel may ignore. Elsewhere than Linux,
// Back does nothing.
package hugepage

import "time"

// MinMapping is the smallest mapping Back advises: one huge page. The Go
// heap grows in mappings of several megabytes; smaller mappings are the
// runtime's bookkeeping and thread stacks, left as they are.
const MinMapping = 2 << 20

// Back advises the heap's mappings now and then every interval, as the heap
// grows, until the returned function is called. It reports nothing: where
// the kernel refuses (no transparent huge pages, an older kernel without
// MADV_COLLAPSE), memory stays as it was.
func Back(interval time.Duration) (stop func()) {
	var a adviser
	a.advise()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				a.advise()
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
