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

// Generated reports whether Hashes uses the generated encoder.
func Generated() bool { return generated }

// PlanSections returns the canonical encoding of each top-level field of s,
// in field order, by the plan; GeneratedSections by the generated encoder.
func PlanSections(s *State) [][]byte      { return sections(s, false) }
func GeneratedSections(s *State) [][]byte { return sections(s, true) }

func sections(s *State, gen bool) [][]byte {
	out := make([][]byte, len(statePlan.names))
	for i := range out {
		// Through a writer, as Hashes writes to its digest, and flushing
		// the buffer wherever it may be flushed.
		var w bytes.Buffer
		enc := newEncoder(&w, 1)
		w.Write(enc.section(nil, s, i, gen))
		out[i] = w.Bytes()
	}
	return out
}

// PlanHashes and GeneratedHashes are Hashes by either encoder.
func PlanHashes(s *State) (Hash, []SectionHash)      { return s.hashes(false) }
func GeneratedHashes(s *State) (Hash, []SectionHash) { return s.hashes(true) }

// PlanCanonical and GeneratedCanonical are PeerStore.Canonical by either
// encoder.
func PlanCanonical(ps PeerStore) []byte      { return ps.canonical(false) }
func GeneratedCanonical(ps PeerStore) []byte { return ps.canonical(true) }

// CanonicalOf encodes any value by a plan compiled for its type, through
// a writer, flushing the buffer wherever it may be flushed.
func CanonicalOf(x any) []byte {
	var w bytes.Buffer
	enc := newEncoder(&w, 1)
	v := reflect.ValueOf(x)
	p := newPlan(v.Type())
	w.Write(enc.encode(nil, p, p.root, v))
	return w.Bytes()
}
