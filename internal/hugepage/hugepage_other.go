//go:build !linux

package hugepage

// adviser does nothing where there is no madvise for huge pages.
type adviser struct{}

func (a *adviser) advise() int { return 0 }
