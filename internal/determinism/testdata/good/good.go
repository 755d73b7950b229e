// Package good is code the determinism checker must accept: every line of
// it follows the rules.
package good

import (
	"maps"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// second is an untyped constant: exact, and never a run-time float.
const second = 1e9

// Total walks a map in sorted key order.
func Total(m map[string]int) (n int) {
	for _, k := range state.SortedKeys(m) {
		n += m[k]
	}
	return n
}

// Ready counts and checks entries without depending on the map's order.
func Ready(m map[string]bool) (int, bool) {
	counts := state.CountBy(m, func(ok bool) bool { return ok })
	return counts[true], state.AllOf(m, func(string, bool) bool { return true })
}

// Same compares maps; the result does not depend on the order of a walk.
func Same(a, b map[string]int) bool { return maps.Equal(a, b) }

// Backoff is integer time.Duration arithmetic.
func Backoff(base time.Duration, attempt int) time.Duration {
	d := base << attempt
	d += 500 * time.Millisecond
	return min(d, time.Duration(second)*30)
}

// Deadline adds a duration to a time the caller supplies.
func Deadline(now time.Time, timeout time.Duration) time.Time { return now.Add(timeout) }

// Private uses net/netip, which does no I/O.
func Private(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.IsPrivate()
}

// Ranges over ordered things: slices, arrays, strings, integers, iterators.
func Ranges(xs []int, arr [4]byte, s string) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	for i := range arr {
		n += int(arr[i])
	}
	for _, r := range s {
		n += int(r)
	}
	for i := range 3 {
		n += i
	}
	for x := range slices.Values(xs) {
		n += x
	}
	sort.Ints(xs)
	return n
}
