package state

import (
	"cmp"
	"iter"
	"slices"
)

// SortedKeys returns the keys of m in ascending order.
//
// It is the one place in the deterministic core that ranges over a Go map:
// everything else that walks a map walks these keys, so map iteration order
// never reaches the state, the log, the service or the output. The
// determinism test allows this function and nothing else.
func SortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CountBy counts the values of m by the key class gives them. Counting does
// not depend on the order of the walk, so this is the second function the
// determinism test allows to range over a map: invariant checks use it to
// avoid sorting large maps after every action.
func CountBy[M ~map[K]V, K comparable, V any, C comparable](m M, class func(V) C) map[C]int {
	out := make(map[C]int)
	for _, v := range m {
		out[class(v)]++
	}
	return out
}

// AllOf reports whether ok holds for every entry of m. ok must be a pure
// predicate; conjunction does not depend on the order of the walk.
func AllOf[M ~map[K]V, K comparable, V any](m M, ok func(K, V) bool) bool {
	for k, v := range m {
		if !ok(k, v) {
			return false
		}
	}
	return true
}

// Unordered visits m in no particular order. Only work whose outcome does
// not depend on the order may use it: a check that then reports in
// SortedKeys order whatever it found (see State.CheckPeers), a sum. It is
// the fourth function the determinism test allows to range over a map.
func Unordered[M ~map[K]V, K comparable, V any](m M) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, v := range m {
			if !yield(k, v) {
				return
			}
		}
	}
}
