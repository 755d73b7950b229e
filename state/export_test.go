package state

import "reflect"

// Exported for the tests of package state_test, which build states through
// the store and the fuzz generator (packages that import state).
var (
	ReferenceSections  = referenceSections
	ReferenceHashes    = referenceHashes
	ReferenceCanonical = referenceCanonical
)

// CanonicalSections returns the canonical encoding of each top-level field
// of s, in field order, as State.Hashes encodes it.
func CanonicalSections(s *State) [][]byte {
	v := reflect.ValueOf(s).Elem()
	out := make([][]byte, v.NumField())
	for i := range out {
		var enc canonical
		enc.value(v.Field(i))
		out[i] = enc.buf
	}
	return out
}

// CanonicalOf encodes any value as hash.go encodes the state.
func CanonicalOf(x any) []byte {
	var enc canonical
	enc.value(reflect.ValueOf(x))
	return enc.buf
}
