package message_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

const (
	peerA = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
	peerB = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"

	addrTCP  = "/ip4/127.0.0.1/tcp/4001"
	addrQUIC = "/ip6/::1/udp/4001/quic-v1"
	addrDNS  = "/dns4/example.com/tcp/1/p2p/" + peerA
	addrWT   = "/ip4/192.0.2.7/udp/443/quic-v1/webtransport"
)

// sample is a named valid message.
type sample struct {
	name string
	msg  message.Message
}

func manyPeers(n int) []state.PeerAddr {
	out := make([]state.PeerAddr, n)
	for i := range out {
		out[i] = state.PeerAddr{
			ID:    state.PeerID(fmt.Sprintf("peer-%04d", i)),
			Addrs: []state.Addr{state.Addr(fmt.Sprintf("/ip4/10.0.%d.%d/tcp/4001", i/256, i%256))},
		}
	}
	return out
}

func maxAddrs() []state.Addr {
	out := make([]state.Addr, message.MaxAddrsPerPeer)
	for i := range out {
		out[i] = state.Addr(fmt.Sprintf("/ip4/192.0.2.%d/tcp/%d", i+1, 4000+i))
	}
	return out
}

// maxChannels is the longest channel list a handshake may carry, with
// names of the longest length.
func maxChannels() []message.ChannelInfo {
	out := make([]message.ChannelInfo, state.MaxChannels-1)
	for i := range out {
		name := fmt.Sprintf("%02d", i) + strings.Repeat("c", state.MaxChannelName-2)
		out[i] = message.ChannelInfo{Name: name, Kind: state.ChannelKind(i % 3), Version: math.MaxUint32}
	}
	return out
}

// samples are valid messages of every type, with realistic and edge
// values.
func samples() []sample {
	return []sample{
		{"hello", message.Hello{
			Version:     1,
			Network:     "mainnet",
			Software:    "p2pcore/0.1.0",
			Services:    0b101,
			ListenAddrs: []state.Addr{addrTCP, addrQUIC, addrDNS},
			Observed:    "/ip4/203.0.113.9/tcp/53211",
			UnixTime:    1_700_000_000,
			Nonce:       0x9e3779b97f4a7c15,
		}},
		{"hello-minimal", message.Hello{}},
		{"hello-channels", message.Hello{
			Version:  2,
			Network:  "chainweb",
			UnixTime: 1_700_000_000,
			Nonce:    7,
			Channels: []message.ChannelInfo{
				{Name: "cut", Kind: state.Broadcast, Version: 1},
				{Name: "mempool.chain-0", Kind: state.Direct, Version: 3},
				{Name: "payload_by_hash", Kind: state.Request, Version: 1},
			},
		}},
		{"hello-channels-max", message.Hello{Version: 2, Network: "n", Channels: maxChannels()}},
		{"hello-limits", message.Hello{
			Version:     math.MaxUint32,
			Network:     strings.Repeat("n", message.MaxNameLen),
			Software:    "bin\xff\xfe", // invalid UTF-8 travels as a byte string
			Services:    math.MaxUint64,
			ListenAddrs: maxAddrs(),
			UnixTime:    math.MinInt64,
			Nonce:       math.MaxUint64,
		}},
		{"hello-ack", message.HelloAck{
			Version:     2,
			Network:     "testnet",
			Software:    "p2pcore/0.2.0 (linux)",
			Services:    1,
			ListenAddrs: []state.Addr{addrWT},
			Observed:    addrQUIC,
			UnixTime:    -1,
		}},
		{"hello-ack-minimal", message.HelloAck{}},
		{"hello-ack-channels", message.HelloAck{Version: 2, Network: "n",
			Channels: []message.ChannelInfo{{Name: "sync", Kind: state.Direct, Version: 1}}}},
		{"ping-request", message.PingRequest{Nonce: 42}},
		{"ping-request-max", message.PingRequest{Nonce: math.MaxUint64}},
		{"ping-response", message.PingResponse{Nonce: 1 << 40}},
		{"ping-response-zero", message.PingResponse{}},
		{"addr-list-request", message.AddrListRequest{}},
		{"addr-list-response", message.AddrListResponse{Peers: []state.PeerAddr{
			{ID: peerA, Addrs: []state.Addr{addrTCP, addrQUIC}},
			{ID: peerB, Addrs: []state.Addr{addrDNS}},
		}}},
		{"addr-list-response-empty", message.AddrListResponse{}},
		{"addr-list-response-max", message.AddrListResponse{Peers: manyPeers(message.MaxAddrList)}},
		{"addr-announce", message.AddrAnnounce{Peers: []state.PeerAddr{
			{ID: peerA, Addrs: []state.Addr{addrWT}},
		}}},
		{"addr-announce-max", message.AddrAnnounce{Peers: append(manyPeers(message.MaxAnnounce-1),
			state.PeerAddr{ID: state.PeerID(strings.Repeat("~", message.MaxPeerIDLen)), Addrs: maxAddrs()})}},
		{"addr-announce-empty", message.AddrAnnounce{}},
		{"disconnect", message.Disconnect{Reason: state.ReasonTooManyPeers}},
		{"disconnect-none", message.Disconnect{Reason: state.ReasonNone}},
		{"disconnect-unknown", message.Disconnect{Reason: 255}},
	}
}

var equateEmpty = cmpopts.EquateEmpty()

func TestRoundTrip(t *testing.T) {
	seen := map[message.Type]bool{}
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			b := message.Marshal(s.msg)
			got, err := message.Decode(b)
			if err != nil {
				t.Fatalf("Decode(Marshal(%+v)): %v", s.msg, err)
			}
			if got.Type() != s.msg.Type() {
				t.Fatalf("decoded a %v, want %v", got.Type(), s.msg.Type())
			}
			if diff := cmp.Diff(s.msg, got, equateEmpty); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if again := message.Marshal(got); !bytes.Equal(again, b) {
				t.Errorf("re-encoding differs:\n % x\n % x", b, again)
			}
			// Encode reuses a buffer.
			buf := make([]byte, 0, 16)
			if enc := message.Encode(buf, s.msg); !bytes.Equal(enc, b) {
				t.Errorf("Encode(buf[:0]) = % x", trunc(enc))
			}
			// The encoding is plain CBOR: an array of the type and the fields.
			var generic []any
			if err := cbor.Unmarshal(b, &generic); err != nil {
				t.Fatalf("fxamacker: %v", err)
			}
			if len(generic) == 0 || generic[0] != uint64(s.msg.Type()) {
				t.Errorf("fxamacker sees %v", generic)
			}
			seen[s.msg.Type()] = true
		})
	}
	for ty := message.TypeHello; ty <= message.TypeDisconnect; ty++ {
		if !seen[ty] {
			t.Errorf("no round-trip sample of %v", ty)
		}
	}
}

func TestDecodeReturnsValues(t *testing.T) {
	for _, s := range samples() {
		got, err := message.Decode(message.Marshal(s.msg))
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		switch s.msg.(type) {
		case message.Hello:
			_, ok = got.(message.Hello)
		case message.HelloAck:
			_, ok = got.(message.HelloAck)
		case message.PingRequest:
			_, ok = got.(message.PingRequest)
		case message.PingResponse:
			_, ok = got.(message.PingResponse)
		case message.AddrListRequest:
			_, ok = got.(message.AddrListRequest)
		case message.AddrListResponse:
			_, ok = got.(message.AddrListResponse)
		case message.AddrAnnounce:
			_, ok = got.(message.AddrAnnounce)
		case message.Disconnect:
			_, ok = got.(message.Disconnect)
		}
		if !ok {
			t.Errorf("%s: Decode returned a %T", s.name, got)
		}
	}
}

// TestEncodeAppends checks the documented contract of Encode: "appends the
// encoding of m to buf" (it once overwrote a non-empty buf).
func TestEncodeAppends(t *testing.T) {
	prefix := []byte{0xde, 0xad}
	m := message.PingRequest{Nonce: 1}
	enc := message.Encode(prefix, m)
	if !bytes.Equal(enc, append([]byte{0xde, 0xad}, message.Marshal(m)...)) {
		t.Fatalf("Encode(de ad, %v) = % x, want the prefix kept", m, enc)
	}
}

func TestGoldenEncodings(t *testing.T) {
	for _, c := range []struct {
		msg  message.Message
		want []byte
	}{
		{message.PingRequest{Nonce: 1}, []byte{0x82, 0x03, 0x01}},
		{message.PingResponse{Nonce: 300}, []byte{0x82, 0x04, 0x19, 0x01, 0x2c}},
		{message.AddrListRequest{}, []byte{0x81, 0x05}},
		{message.AddrListResponse{}, []byte{0x82, 0x06, 0x80}},
		{message.AddrAnnounce{Peers: []state.PeerAddr{{ID: "p", Addrs: []state.Addr{"/ip4/1.2.3.4/tcp/1"}}}},
			append([]byte{0x82, 0x07, 0x81, 0x82, 0x61, 'p', 0x81, 0x72}, "/ip4/1.2.3.4/tcp/1"...)},
		{message.Disconnect{Reason: state.ReasonBanned}, []byte{0x82, 0x08, 0x0e}},
		{message.HelloAck{}, []byte{0x88, 0x02, 0x00, 0x60, 0x60, 0x00, 0x80, 0x60, 0x00}},
		{message.Hello{UnixTime: -1, Nonce: 7}, []byte{0x89, 0x01, 0x00, 0x60, 0x60, 0x00, 0x80, 0x60, 0x20, 0x07}},
	} {
		if got := message.Marshal(c.msg); !bytes.Equal(got, c.want) {
			t.Errorf("Marshal(%#v) = % x, want % x", c.msg, got, c.want)
		}
	}
}

func TestTypeString(t *testing.T) {
	for ty, want := range map[message.Type]string{
		message.TypeHello: "Hello", message.TypeHelloAck: "HelloAck",
		message.TypePingRequest: "PingRequest", message.TypePingResponse: "PingResponse",
		message.TypeAddrListRequest: "AddrListRequest", message.TypeAddrListResponse: "AddrListResponse",
		message.TypeAddrAnnounce: "AddrAnnounce", message.TypeDisconnect: "Disconnect",
		0: "type(0)", 9: "type(9)", 255: "type(255)",
	} {
		if got := ty.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(ty), got, want)
		}
	}
}

func TestValidAddr(t *testing.T) {
	for _, s := range []string{addrTCP, addrQUIC, addrDNS, addrWT, "/ip4/0.0.0.0/udp/0", "/dns/Example.COM/tcp/1"} {
		if !message.ValidAddr(s) {
			t.Errorf("ValidAddr(%q) = false", s)
		}
	}
	for _, s := range []string{
		"",
		"ip4/127.0.0.1/tcp/1",        // no leading slash
		"/ip4/127.0.0.1/tcp/4001/",   // trailing slash
		"/ip6/0:0:0:0:0:0:0:1/tcp/1", // non-canonical IPv6
		"/ip4/1.2.3.4/tcp/01",        // leading zero in the port
		"/ip4/1.2.3.4/ipfs/" + peerA, // old name for p2p
		"/ip4/256.0.0.1/tcp/1",       // bad IPv4
		"/ip4/1.2.3.4/tcp/65536",     // bad port
		"/ip4/1.2.3.4/nosuchproto/1", // unknown protocol
		"/ip4/1.2.3.4/tcp",           // missing value
		"/dns4/" + strings.Repeat("a", message.MaxAddrLen) + "/tcp/1", // too long
	} {
		if message.ValidAddr(s) {
			t.Errorf("ValidAddr(%q) = true", s)
		}
	}
}

func TestValidPeerID(t *testing.T) {
	for _, s := range []string{peerA, peerB, "x", "!", "~", strings.Repeat("a", message.MaxPeerIDLen)} {
		if !message.ValidPeerID(s) {
			t.Errorf("ValidPeerID(%q) = false", s)
		}
	}
	for _, s := range []string{"", "a b", "a\x01", "\x7f", "é", "a\xff", strings.Repeat("a", message.MaxPeerIDLen+1)} {
		if message.ValidPeerID(s) {
			t.Errorf("ValidPeerID(%q) = true", s)
		}
	}
}

// --- rejections -------------------------------------------------------------

// raw builds an encoding by hand.
func raw(f func(e *codec.Encoder)) []byte {
	var e codec.Encoder
	f(&e)
	return e.Encoded()
}

// helloRaw encodes a Hello with a version that may be out of range and
// addresses that may be invalid.
func helloRaw(version uint64, network string, listen []string, observed string) []byte {
	return raw(func(e *codec.Encoder) {
		e.Array(9)
		e.Uint(uint64(message.TypeHello))
		e.Uint(version)
		e.String(network)
		e.String("p2pcore/0.1.0")
		e.Uint(1)
		e.Array(len(listen))
		for _, a := range listen {
			e.String(a)
		}
		e.String(observed)
		e.Int(1_700_000_000)
		e.Uint(99)
	})
}

// chanRaw encodes one channel of a handshake's list.
func chanRaw(name string, kind, version uint64) []byte {
	return raw(func(e *codec.Encoder) {
		e.Array(3)
		e.String(name)
		e.Uint(kind)
		e.Uint(version)
	})
}

// withChannels appends a channel list to a Hello from helloRaw, as its
// tenth item.
func withChannels(hello []byte, chans ...[]byte) []byte {
	out := append([]byte{0x8a}, hello[1:]...)
	out = append(out, raw(func(e *codec.Encoder) { e.Array(len(chans)) })...)
	for _, c := range chans {
		out = append(out, c...)
	}
	return out
}

func announceRaw(ty message.Type, peers ...[]string) []byte {
	return raw(func(e *codec.Encoder) {
		e.Array(2)
		e.Uint(uint64(ty))
		e.Array(len(peers))
		for _, p := range peers {
			e.Array(2)
			e.String(p[0])
			e.Array(len(p) - 1)
			for _, a := range p[1:] {
				e.String(a)
			}
		}
	})
}

func strs(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestDecodeRejects(t *testing.T) {
	valid := message.Marshal(samples()[0].msg)
	ping := message.Marshal(message.PingRequest{Nonce: 5})
	tooManyAddrs := strs(message.MaxAddrsPerPeer+1, func(i int) string { return fmt.Sprintf("/ip4/10.0.0.%d/tcp/1", i) })
	longID := strings.Repeat("a", message.MaxPeerIDLen+1)

	cases := []struct {
		name  string
		input []byte
		// want are fragments the error must contain.
		want []string
		// codecOffset, when not -1, is the offset of the *codec.Error the
		// error must wrap.
		codecOffset int
	}{
		{"empty input", nil, []string{"unexpected end"}, 0},
		{"not an array", []byte{0x03}, []string{"expected array"}, 0},
		{"empty array", []byte{0x80}, []string{"empty array"}, -1},
		{"type not a uint", []byte{0x81, 0x61, 'a'}, []string{"message type", "unsigned integer"}, 1},
		{"unknown type 0", []byte{0x81, 0x00}, []string{"unknown type 0"}, -1},
		{"unknown type 9", []byte{0x82, 0x09, 0x00}, []string{"unknown type 9"}, -1},
		{"unknown type 255", []byte{0x81, 0x18, 0xff}, []string{"unknown type 255"}, -1},
		{"type beyond 255", []byte{0x81, 0x19, 0x01, 0x01}, []string{"message type", "257 exceeds 255"}, 1},
		{"array longer than input", []byte{0x83, 0x03, 0x01}, []string{"exceeds"}, 0},

		{"ping without nonce", []byte{0x81, 0x03}, []string{"PingRequest", "0 fields, want 1"}, -1},
		{"ping with two nonces", []byte{0x83, 0x03, 0x01, 0x02}, []string{"PingRequest", "2 fields, want 1"}, -1},
		{"pong with two nonces", []byte{0x83, 0x04, 0x01, 0x02}, []string{"PingResponse", "2 fields, want 1"}, -1},
		{"addr request with a field", []byte{0x82, 0x05, 0x00}, []string{"AddrListRequest", "1 fields, want 0"}, -1},
		{"hello without nonce", append([]byte{0x88}, valid[1:len(valid)-9]...), []string{"Hello", "7 fields, want 8"}, -1},
		{"hello-ack with a nonce", append([]byte{0x89, 0x02}, valid[2:]...), []string{"HelloAck", "8 fields, want 7"}, -1},
		{"disconnect without reason", []byte{0x81, 0x08}, []string{"Disconnect", "0 fields, want 1"}, -1},

		{"trailing bytes", append(ping, 0x00), []string{"PingRequest", "trailing bytes"}, len(ping)},
		{"trailing message", append(ping, ping...), []string{"trailing bytes"}, len(ping)},
		{"negative nonce", []byte{0x82, 0x03, 0x20}, []string{"PingRequest", "expected unsigned integer"}, 2},
		{"non-canonical nonce", []byte{0x82, 0x04, 0x18, 0x01}, []string{"PingResponse", "non-canonical"}, 2},
		{"non-canonical type", []byte{0x82, 0x18, 0x03, 0x01}, []string{"non-canonical"}, 1},
		{"non-canonical array", []byte{0x98, 0x02, 0x03, 0x01}, []string{"non-canonical"}, 0},
		{"indefinite array", []byte{0x9f, 0x03, 0x01, 0xff}, []string{"additional info 31"}, 0},
		{"reason beyond 255", []byte{0x82, 0x08, 0x19, 0x01, 0x00}, []string{"Disconnect", "256 exceeds 255"}, 2},

		{"version 2^32", helloRaw(1<<32, "mainnet", nil, ""), []string{"Hello", "4294967296 exceeds 4294967295"}, 2},
		{"version MaxUint64", helloRaw(math.MaxUint64, "mainnet", nil, ""), []string{"exceeds 4294967295"}, 2},
		{"network too long", helloRaw(1, strings.Repeat("n", message.MaxNameLen+1), nil, ""), []string{"exceeds the limit of 64"}, 3},
		{"network invalid text", func() []byte {
			b := helloRaw(1, "mainnet", nil, "")
			b[bytes.Index(b, []byte("mainnet"))] = 0xff // 0x67 'm' now starts an invalid text string
			return b
		}(), []string{"not valid UTF-8"}, 3},
		{"invalid listen multiaddr", helloRaw(1, "m", []string{addrTCP, "/ip4/999.0.0.1/tcp/1"}, ""),
			[]string{"Hello", `invalid multiaddr "/ip4/999.0.0.1/tcp/1"`}, -1},
		{"non-canonical listen multiaddr", helloRaw(1, "m", []string{"/ip6/0:0:0:0:0:0:0:1/tcp/1"}, ""),
			[]string{`invalid multiaddr "/ip6/0:0:0:0:0:0:0:1/tcp/1"`}, -1},
		{"trailing slash multiaddr", helloRaw(1, "m", []string{"/ip4/127.0.0.1/tcp/4001/"}, ""),
			[]string{`invalid multiaddr "/ip4/127.0.0.1/tcp/4001/"`}, -1},
		{"empty listen multiaddr", helloRaw(1, "m", []string{""}, ""), []string{`invalid multiaddr ""`}, -1},
		{"listen multiaddr too long", helloRaw(1, "m", []string{"/dns4/" + strings.Repeat("a", 300) + "/tcp/1"}, ""),
			[]string{"exceeds the limit of 256"}, -1},
		{"invalid observed multiaddr", helloRaw(1, "m", nil, "/tcp/1/ip4"), []string{`invalid multiaddr "/tcp/1/ip4"`}, -1},
		{"non-canonical observed", helloRaw(1, "m", nil, "/ip4/1.2.3.4/ipfs/"+peerA), []string{"invalid multiaddr"}, -1},
		{"too many listen addrs", helloRaw(1, "m", tooManyAddrs, ""), []string{"Hello", "array of 9 items exceeds the limit of 8"}, -1},
		{"listen addrs not an array", func() []byte {
			b := helloRaw(1, "m", nil, "")
			b[bytes.IndexByte(b, 0x80)] = 0xa0 // empty map
			return b
		}(), []string{"expected array, found major type 5"}, -1},
		{"unix time beyond int64", func() []byte {
			return raw(func(e *codec.Encoder) {
				e.Array(8)
				e.Uint(uint64(message.TypeHelloAck))
				e.Uint(1)
				e.String("m")
				e.String("s")
				e.Uint(0)
				e.Array(0)
				e.String("")
				e.Uint(math.MaxUint64)
			})
		}(), []string{"HelloAck", "signed 64-bit"}, 10},

		{"invalid peer ID: space", announceRaw(message.TypeAddrAnnounce, []string{"peer one", addrTCP}),
			[]string{"AddrAnnounce", `invalid peer ID "peer one"`}, 4},
		{"invalid peer ID: control char", announceRaw(message.TypeAddrListResponse, []string{"peer\x01", addrTCP}),
			[]string{"AddrListResponse", `invalid peer ID "peer\x01"`}, 4},
		{"invalid peer ID: empty", announceRaw(message.TypeAddrAnnounce, []string{"", addrTCP}),
			[]string{`invalid peer ID ""`}, 4},
		{"invalid peer ID: non-ASCII", announceRaw(message.TypeAddrAnnounce, []string{"pé", addrTCP}),
			[]string{`invalid peer ID "pé"`}, 4},
		{"invalid peer ID: bytes", announceRaw(message.TypeAddrAnnounce, []string{"\xff", addrTCP}),
			[]string{`invalid peer ID "\xff"`}, 4},
		{"invalid peer ID: too long", announceRaw(message.TypeAddrAnnounce, []string{longID, addrTCP}),
			[]string{"string of 129 bytes exceeds the limit of 128"}, 4},
		{"invalid peer ID: second entry", announceRaw(message.TypeAddrListResponse, []string{peerA, addrTCP}, []string{"a\tb", addrTCP}),
			[]string{`invalid peer ID "a\tb"`}, -1},
		{"entry invalid multiaddr", announceRaw(message.TypeAddrAnnounce, []string{peerA, addrTCP, "/ip4/1.2.3.4/udp/x"}),
			[]string{"AddrAnnounce", `invalid multiaddr "/ip4/1.2.3.4/udp/x"`}, -1},
		{"entry non-canonical multiaddr", announceRaw(message.TypeAddrListResponse, []string{peerA, "/ip6/0:0:0:0:0:0:0:1/tcp/1"}),
			[]string{"AddrListResponse", `invalid multiaddr "/ip6/0:0:0:0:0:0:0:1/tcp/1"`}, -1},
		{"entry with too many addrs", announceRaw(message.TypeAddrAnnounce, append([]string{peerA}, tooManyAddrs...)),
			[]string{"array of 9 items exceeds the limit of 8"}, -1},
		{"entry with no addrs", announceRaw(message.TypeAddrAnnounce, []string{peerA}),
			[]string{"AddrAnnounce", "peer " + peerA + " has no address"}, -1},
		{"response entry with no addrs", message.Marshal(message.AddrListResponse{Peers: []state.PeerAddr{{ID: peerB, Addrs: []state.Addr{addrTCP}}, {ID: peerA}}}),
			[]string{"AddrListResponse", "peer " + peerA + " has no address"}, -1},
		{"entry not a pair", raw(func(e *codec.Encoder) {
			e.Array(2)
			e.Uint(uint64(message.TypeAddrAnnounce))
			e.Array(1)
			e.Array(3)
			e.String(peerA)
			e.Array(1)
			e.String(addrTCP)
			e.Uint(0)
		}), []string{"expected an array of 2 items, found 3"}, 3},
		{"v2 hello without channels", helloRaw(2, "m", nil, ""), []string{"Hello", "8 fields, want 9 for version 2"}, -1},
		{"v1 hello with channels", withChannels(helloRaw(1, "m", nil, ""), chanRaw("a", 0, 1)), []string{"Hello", "9 fields, want 8 for version 1"}, -1},
		{"duplicate channel", withChannels(helloRaw(2, "m", nil, ""), chanRaw("a", 0, 1), chanRaw("a", 1, 1)),
			[]string{"Hello", `channel "a" listed twice`}, -1},
		{"channel named control", withChannels(helloRaw(2, "m", nil, ""), chanRaw("control", 0, 1)),
			[]string{"Hello", `"control" version 1 is not a channel`}, -1},
		{"channel with a bad name", withChannels(helloRaw(2, "m", nil, ""), chanRaw("Blocks", 0, 1)),
			[]string{"Hello", `"Blocks" version 1 is not a channel`}, -1},
		{"channel of version 0", withChannels(helloRaw(2, "m", nil, ""), chanRaw("a", 0, 0)),
			[]string{"Hello", `"a" version 0 is not a channel`}, -1},
		{"channel of unknown kind", withChannels(helloRaw(2, "m", nil, ""), chanRaw("a", 3, 1)),
			[]string{"Hello", "3 exceeds 2"}, -1},
		{"too many channels", message.Marshal(message.Hello{Version: 2, Channels: append(maxChannels(), message.ChannelInfo{Name: "x", Version: 1})}),
			[]string{"Hello", "array of 64 items exceeds the limit of 63"}, -1},
		{"announce too long", message.Marshal(message.AddrAnnounce{Peers: manyPeers(message.MaxAnnounce + 1)}),
			[]string{"AddrAnnounce", "array of 11 items exceeds the limit of 10"}, 2},
		{"response too long", message.Marshal(message.AddrListResponse{Peers: manyPeers(message.MaxAddrList + 1)}),
			[]string{"AddrListResponse", "array of 1001 items exceeds the limit of 1000"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := message.Decode(c.input)
			if err == nil {
				t.Fatalf("Decode(% x) = %#v, want an error", trunc(c.input), m)
			}
			if m != nil {
				t.Errorf("Decode returned %#v with its error", m)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "message") {
				t.Errorf("error %q lacks the message prefix", err)
			}
			var ce *codec.Error
			isCodec := errors.As(err, &ce)
			if c.codecOffset >= 0 {
				if !isCodec {
					t.Fatalf("error %q does not wrap a *codec.Error", err)
				}
				if ce.Offset != c.codecOffset {
					t.Errorf("error %q at offset %d, want %d", err, ce.Offset, c.codecOffset)
				}
			}
			if isCodec && (ce.Offset < 0 || ce.Offset > len(c.input)) {
				t.Errorf("error offset %d outside the %d-byte input", ce.Offset, len(c.input))
			}
		})
	}
}

// TestInvalidFieldOffsets checks that a field failing validation is reported
// where its encoding starts.
func TestInvalidFieldOffsets(t *testing.T) {
	for _, c := range []struct {
		input []byte
		field string
	}{
		{helloRaw(1, "m", []string{addrTCP, "/ip4/999.0.0.1/tcp/1"}, ""), "/ip4/999.0.0.1/tcp/1"},
		{helloRaw(1, "m", nil, "/ip6/0:0:0:0:0:0:0:1/tcp/1"), "/ip6/0:0:0:0:0:0:0:1/tcp/1"},
		{announceRaw(message.TypeAddrAnnounce, []string{peerA, addrTCP}, []string{"bad peer", addrQUIC}), "bad peer"},
		{announceRaw(message.TypeAddrListResponse, []string{peerA, addrQUIC, "/ip4/1.2.3"}), "/ip4/1.2.3"},
	} {
		_, err := message.Decode(c.input)
		var ce *codec.Error
		if !errors.As(err, &ce) {
			t.Fatalf("Decode: %v, want a *codec.Error", err)
		}
		// Strings shorter than 24 bytes have a one-byte head.
		want := bytes.Index(c.input, []byte(c.field)) - 1
		if len(c.field) >= 24 {
			want--
		}
		if ce.Offset != want {
			t.Errorf("%q: error %q at offset %d, want %d", c.field, err, ce.Offset, want)
		}
	}
}

// TestDecodeHugeClaims checks that length claims larger than the input fail
// without allocating for them.
func TestDecodeHugeClaims(t *testing.T) {
	for _, b := range [][]byte{
		{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x82, 0x06, 0x9a, 0xff, 0xff, 0xff, 0xff},
		{0x82, 0x07, 0x81, 0x82, 0x61, 'p', 0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x82, 0x07, 0x81, 0x82, 0x7b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := message.Decode(b); err == nil {
				t.Fatalf("Decode(% x) succeeded", b)
			}
		})
		if allocs > 20 {
			t.Errorf("Decode(% x) made %v allocations", b, allocs)
		}
	}
}

func trunc(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
