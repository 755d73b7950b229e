package state

import (
	"bytes"
	"reflect"
)

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
	root := statePlan.nodes[statePlan.root]
	out := make([][]byte, root.n)
	for i := range out {
		// Through a writer, as Hashes writes to its digest, and flushing
		// the buffer wherever it may be flushed.
		var w bytes.Buffer
		enc := encoder{w: &w, flushAt: 1}
		w.Write(enc.encode(nil, statePlan, statePlan.fields[int(root.first)+i].node, v.Field(i)))
		out[i] = w.Bytes()
	}
	return out
}

// CanonicalOf encodes any value by a plan compiled for its type, through
// a writer, flushing the buffer wherever it may be flushed.
func CanonicalOf(x any) []byte {
	var w bytes.Buffer
	enc := encoder{w: &w, flushAt: 1}
	v := reflect.ValueOf(x)
	p := newPlan(v.Type())
	w.Write(enc.encode(nil, p, p.root, v))
	return w.Bytes()
}
