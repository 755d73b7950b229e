//go:build nohashgen

package state

// Built with -tags nohashgen, to regenerate hash_gen.go (see go:generate
// in hash.go), the package has no generated encoder: the plan encodes the
// state.

const generatedFor = ""

func (e *encoder) genSection(b []byte, s *State, i int) []byte {
	panic("state: built without the generated encoder")
}

func (e *encoder) genPeerStore(b []byte, x *PeerStore) []byte {
	panic("state: built without the generated encoder")
}
