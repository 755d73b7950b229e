package service

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/p2pcore/p2pcore/state"
)

// The digests of fixed commands, in both forms. Logs hold these: a change
// here makes every recorded log fail to replay, so it must come with a new
// log format version and the old form kept for the old logs.
func TestDigestKnownAnswers(t *testing.T) {
	payload := make([]byte, 100)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	cmds := []Command{
		&Deliver{Peer: "node-001", Channel: 3, Data: payload},
		Send{Peer: "node-002", Channel: state.ChannelControl, Data: payload[:11]},
		Dial{Peer: "node-003", Addrs: []state.Addr{"/ip4/10.0.0.3/tcp/4001"}},
		Close{Peer: "node-004"},
	}
	forms := []struct {
		format int
		g      Digester
		want   []string
	}{
		{3, Digester{Limit: 1 << 10}, []string{"6691d48d794875b7", "1e0dcdfd46211e26", "6435fb9d8cf4b83c", "b6132d3b0e421fbf"}},
		{2, Digester{Limit: 1 << 10, Legacy: true}, []string{"af780f506175fd77", "52687367df6da254", "41db40efddf92a51", "56eb4a696e5643f3"}},
		// A command without a payload digests as in format 3: the hash of
		// no payload is 0.
		{4, Digester{Limit: 1 << 10, Separate: true}, []string{"c5cf023531a0c46a", "88e91accb1c5203d", "6435fb9d8cf4b83c", "b6132d3b0e421fbf"}},
	}
	for _, f := range forms {
		for i, c := range cmds {
			got := f.g.Digest(c).Sum
			if s := fmt.Sprintf("%x", got); s != f.want[i] {
				t.Errorf("format %d, command %d (%T): digest %s, want %s", f.format, i, c, s, f.want[i])
			}
		}
	}
}

// TestDigestSeesEveryBit: flipping any one bit of a payload, of any
// length up to 100 bytes, changes the digest, in every form; and the
// forms differ.
func TestDigestSeesEveryBit(t *testing.T) {
	for form, g := range map[string]Digester{
		"format 3": {Limit: 1 << 10},
		"format 2": {Limit: 1 << 10, Legacy: true},
		"format 4": {Limit: 1 << 10, Separate: true},
	} {
		seen := map[[8]byte]string{}
		for n := 0; n <= 100; n++ {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i*31 + n)
			}
			base := g.Digest(&Deliver{Peer: "p", Channel: 1, Data: data}).Sum
			name := fmt.Sprintf("%d bytes", n)
			if prev, dup := seen[base]; dup {
				t.Fatalf("%s: %s and %s share a digest", form, prev, name)
			}
			seen[base] = name
			for i := range n * 8 {
				data[i/8] ^= 1 << (i % 8)
				d := g.Digest(&Deliver{Peer: "p", Channel: 1, Data: data}).Sum
				data[i/8] ^= 1 << (i % 8)
				if d == base {
					t.Fatalf("%s: flipping bit %d of %d bytes leaves the digest", form, i, n)
				}
				flipped := fmt.Sprintf("%s, bit %d flipped", name, i)
				if prev, dup := seen[d]; dup {
					t.Fatalf("%s: %s and %s share a digest", form, prev, flipped)
				}
				seen[d] = flipped
			}
			if g.Digest(&Deliver{Peer: "q", Channel: 1, Data: data}).Sum == base {
				t.Fatalf("%s: the peer does not enter the digest", form)
			}
			if g.Digest(&Deliver{Peer: "p", Channel: 2, Data: data}).Sum == base {
				t.Fatalf("%s: the channel does not enter the digest", form)
			}
		}
	}
	c := &Deliver{Peer: "p", Channel: 1, Data: []byte("payload")}
	if (&Digester{}).Digest(c) == (&Digester{Legacy: true}).Digest(c) {
		t.Error("the format-2 and format-3 digests agree")
	}
	if (&Digester{}).Digest(c) == (&Digester{Separate: true}).Digest(c) {
		t.Error("the format-3 and format-4 digests agree")
	}
}

func BenchmarkDigest(b *testing.B) {
	data := make([]byte, 128)
	var c Command = &Deliver{Peer: "12D3KooWPeer0000000000000000000000000000000000000001", Channel: 3, Data: data}
	for _, legacy := range []bool{false, true} {
		b.Run(fmt.Sprintf("legacy=%v", legacy), func(b *testing.B) {
			g := Digester{Limit: 1 << 10, Legacy: legacy}
			for b.Loop() {
				g.Digest(c)
			}
		})
	}
}

// TestKnowHash: a format-4 digest (Separate) takes a payload's hash from
// KnowHash only for the very slice it was told of, until Forget; the
// digest is the same as with the hash computed in place.
func TestKnowHash(t *testing.T) {
	g := Digester{Limit: 1 << 10, Separate: true}
	data := []byte("a payload of some thirty-odd bytes, more or less")
	c := &Deliver{Peer: "12D3KooWPeer", Channel: 3, Data: data}
	plain := g.Digest(c)

	g.KnowHash(data, PayloadHash(data))
	if got := g.Digest(c); got != plain {
		t.Fatalf("with the hash known: %v, computed: %v", got, plain)
	}
	// A wrong hash shows whether it is used: for the slice it was told of,
	// and not for a copy of the same bytes elsewhere.
	g.KnowHash(data, 12345)
	if got := g.Digest(c); got == plain {
		t.Fatal("the known hash was not used for its own slice")
	}
	if got := g.Digest(&Deliver{Peer: c.Peer, Channel: c.Channel, Data: bytes.Clone(data)}); got != plain {
		t.Fatalf("a copy of the payload took the known hash: %v, want %v", got, plain)
	}
	if got := g.Digest(&Deliver{Peer: c.Peer, Channel: c.Channel, Data: data[:10]}); got != g.Digest(&Deliver{Peer: c.Peer, Channel: c.Channel, Data: bytes.Clone(data[:10])}) {
		t.Fatal("a shorter slice of the same bytes took the known hash")
	}
	g.Forget()
	if got := g.Digest(c); got != plain {
		t.Fatalf("after Forget: %v, want %v", got, plain)
	}
	// The format-3 digest is another.
	if g3 := (Digester{Limit: 1 << 10}); g3.Digest(c) == plain {
		t.Fatal("format-3 and format-4 digests agree")
	}
}
