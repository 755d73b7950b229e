package service

import (
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
	want := map[bool][]string{
		false: {"6691d48d794875b7", "1e0dcdfd46211e26", "6435fb9d8cf4b83c", "b6132d3b0e421fbf"},
		true:  {"af780f506175fd77", "52687367df6da254", "41db40efddf92a51", "56eb4a696e5643f3"},
	}
	for _, legacy := range []bool{false, true} {
		g := Digester{Limit: 1 << 10, Legacy: legacy}
		for i, c := range cmds {
			got := g.Digest(c).Sum
			if s := fmt.Sprintf("%x", got); s != want[legacy][i] {
				t.Errorf("legacy=%v, command %d (%T): digest %s, want %s", legacy, i, c, s, want[legacy][i])
			}
		}
	}
}

// TestDigestSeesEveryBit: flipping any one bit of a payload, of any
// length up to 100 bytes, changes the digest, in both forms; and the two
// forms differ.
func TestDigestSeesEveryBit(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		g := Digester{Limit: 1 << 10, Legacy: legacy}
		seen := map[[8]byte]string{}
		for n := 0; n <= 100; n++ {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i*31 + n)
			}
			base := g.Digest(&Deliver{Peer: "p", Channel: 1, Data: data}).Sum
			name := fmt.Sprintf("%d bytes", n)
			if prev, dup := seen[base]; dup {
				t.Fatalf("legacy=%v: %s and %s share a digest", legacy, prev, name)
			}
			seen[base] = name
			for i := range n * 8 {
				data[i/8] ^= 1 << (i % 8)
				d := g.Digest(&Deliver{Peer: "p", Channel: 1, Data: data}).Sum
				data[i/8] ^= 1 << (i % 8)
				if d == base {
					t.Fatalf("legacy=%v: flipping bit %d of %d bytes leaves the digest", legacy, i, n)
				}
				flipped := fmt.Sprintf("%s, bit %d flipped", name, i)
				if prev, dup := seen[d]; dup {
					t.Fatalf("legacy=%v: %s and %s share a digest", legacy, prev, flipped)
				}
				seen[d] = flipped
			}
			if g.Digest(&Deliver{Peer: "q", Channel: 1, Data: data}).Sum == base {
				t.Fatalf("legacy=%v: the peer does not enter the digest", legacy)
			}
			if g.Digest(&Deliver{Peer: "p", Channel: 2, Data: data}).Sum == base {
				t.Fatalf("legacy=%v: the channel does not enter the digest", legacy)
			}
		}
	}
	c := &Deliver{Peer: "p", Channel: 1, Data: []byte("payload")}
	if (&Digester{}).Digest(c) == (&Digester{Legacy: true}).Digest(c) {
		t.Error("the legacy and current digests agree")
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
