package node_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mb "github.com/multiformats/go-multibase"

	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// message.CanonicalPeerID must accept exactly the texts go-libp2p prints
// (peer.Decode(s) succeeds and .String() == s): it is what keeps an alias of
// a connected peer out of the state machine.
func TestCanonicalPeerIDMatchesLibp2p(t *testing.T) {
	libp2p := func(s string) bool {
		p, err := peer.Decode(s)
		return err == nil && p.String() == s
	}
	var samples []string
	for _, typ := range []int{crypto.Ed25519, crypto.Secp256k1, crypto.ECDSA, crypto.RSA} {
		for range 4 {
			bits := 0
			if typ == crypto.RSA {
				bits = 2048
			}
			_, pub, err := crypto.GenerateKeyPairWithReader(typ, bits, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			id, err := peer.IDFromPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			s := id.String()
			cid := peer.ToCid(id)
			b32, _ := cid.StringOfBase(mb.Base32)
			b36, _ := cid.StringOfBase(mb.Base36)
			samples = append(samples, s, cid.String(), b32, b36,
				strings.ToLower(s), strings.ToUpper(s), s+"1", "1"+s, s[:len(s)-1], " "+s, s+"\n",
				s[:4]+"0"+s[5:], s[:4]+"l"+s[5:])
		}
	}
	samples = append(samples, "", "1", "11", "Qm", "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
		"12D3KooW", "bafz", "node-1", strings.Repeat("z", 60), strings.Repeat("1", 40))
	accepted := 0
	// Stricter than go-libp2p on purpose: an identity multihash of no key
	// ("11") or of more than 42 bytes parses, but no key yields it.
	stricter := map[string]bool{"11": true}
	for _, s := range samples {
		want := libp2p(s) && !stricter[s]
		if got := message.CanonicalPeerID(state.IDsLibp2p, s); got != want {
			t.Errorf("%q: CanonicalPeerID %v, go-libp2p %v", s, got, want)
		}
		if want {
			accepted++
		}
	}
	if accepted < 16 {
		t.Errorf("only %d samples are canonical; the test proves little", accepted)
	}
}
