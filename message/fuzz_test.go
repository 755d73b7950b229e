package message_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files under testdata/fuzz")

type seed struct {
	name string
	data []byte
}

// broken returns variants of a valid encoding that must not decode, or
// decode only by accident of the mutation: truncated, with a trailing byte,
// with one field more or less, and with the next type number.
func broken(name string, b []byte) []seed {
	out := []seed{
		{name + "-truncated", b[:len(b)-1]},
		{name + "-trailing", append(bytes.Clone(b), 0x00)},
	}
	if b[0] > 0x80 && b[0] < 0x97 {
		more := bytes.Clone(b)
		more[0]++
		out = append(out, seed{name + "-extra-field", append(more, 0x00)})
		fewer := bytes.Clone(b)
		fewer[0]--
		out = append(out, seed{name + "-missing-field", fewer})
		other := bytes.Clone(b)
		other[1] = other[1]%8 + 1
		out = append(out, seed{name + "-other-type", other})
	}
	return out
}

// typeSeeds are valid encodings of messages of type ty and broken variants
// of them.
func typeSeeds(ty message.Type) []seed {
	var out []seed
	for _, s := range samples() {
		if s.msg.Type() != ty || s.name == "addr-list-response-max" {
			continue // the 1000-entry response is too big to mutate usefully
		}
		b := message.Marshal(s.msg)
		out = append(out, seed{s.name, b})
		out = append(out, broken(s.name, b)...)
	}
	switch ty {
	case message.TypeHello:
		out = append(out,
			seed{"hello-version-2^32", helloRaw(1<<32, "mainnet", nil, "")},
			seed{"hello-non-canonical-addr", helloRaw(1, "m", []string{"/ip6/0:0:0:0:0:0:0:1/tcp/1"}, "")},
			seed{"hello-invalid-observed", helloRaw(1, "m", nil, "/ip4/1.2.3.4/tcp")},
			seed{"hello-too-many-addrs", helloRaw(1, "m", strs(message.MaxAddrsPerPeer+1, func(int) string { return addrTCP }), "")},
		)
	case message.TypeAddrListResponse:
		out = append(out,
			seed{"response-invalid-peer", announceRaw(ty, []string{"a b", addrTCP})},
			seed{"response-no-addrs", announceRaw(ty, []string{peerA})},
		)
	case message.TypeAddrAnnounce:
		eleven := make([][]string, message.MaxAnnounce+1)
		for i := range eleven {
			eleven[i] = []string{peerB, addrQUIC}
		}
		out = append(out,
			seed{"announce-too-many", announceRaw(ty, eleven...)},
			seed{"announce-invalid-addr", announceRaw(ty, []string{peerA, "/ip4/1.2.3.4/udp/x"})},
			seed{"announce-empty-peer", announceRaw(ty, []string{"", addrTCP})},
		)
	case message.TypeDisconnect:
		out = append(out, seed{"disconnect-256", []byte{0x82, 0x08, 0x19, 0x01, 0x00}})
	}
	return out
}

func allSeeds() []seed {
	out := []seed{
		{"empty", nil},
		{"empty-array", []byte{0x80}},
		{"unknown-type", []byte{0x81, 0x09}},
		{"type-zero", []byte{0x81, 0x00}},
		{"huge-array", []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for ty := message.TypeHello; ty <= message.TypeDisconnect; ty++ {
		out = append(out, typeSeeds(ty)...)
	}
	return out
}

// checkDecode is the property every target checks: Decode never panics, a
// failure is a described error, and a success re-encodes to the input.
// When want is not zero and the decoded message has that type, the concrete
// value is checked against the validation rules too.
func checkDecode(t *testing.T, data []byte, want message.Type) {
	m, err := message.Decode(data)
	if err != nil {
		if m != nil {
			t.Fatalf("Decode returned %#v with error %v", m, err)
		}
		if !strings.HasPrefix(err.Error(), "message") {
			t.Fatalf("error %q lacks the message prefix", err)
		}
		var ce *codec.Error
		if errors.As(err, &ce) && (ce.Offset < 0 || ce.Offset > len(data)) {
			t.Fatalf("error %q at offset %d of %d bytes", err, ce.Offset, len(data))
		}
		return
	}
	enc := message.Marshal(m)
	if !bytes.Equal(enc, data) {
		t.Fatalf("Decode then Marshal changed the bytes:\n in  % x\n out % x\n msg %#v", data, enc, m)
	}
	if enc := message.Encode(make([]byte, 0, 8), m); !bytes.Equal(enc, data) {
		t.Fatalf("Encode into a buffer gives % x, want % x", enc, data)
	}
	again, err := message.Decode(enc)
	if err != nil {
		t.Fatalf("re-decoding: %v", err)
	}
	if diff := cmp.Diff(m, again); diff != "" {
		t.Fatalf("decode is not deterministic (-first +second):\n%s", diff)
	}
	if want == 0 || m.Type() != want {
		return
	}

	// The per-type targets look inside the decoded value.
	var re []byte
	switch v := m.(type) {
	case message.Hello:
		checkListen(t, v.ListenAddrs, v.Observed)
		checkName(t, v.Network, v.Software)
		re = message.Marshal(v)
	case message.HelloAck:
		checkListen(t, v.ListenAddrs, v.Observed)
		checkName(t, v.Network, v.Software)
		re = message.Marshal(v)
	case message.PingRequest:
		re = message.Marshal(message.PingRequest{Nonce: v.Nonce})
	case message.PingResponse:
		re = message.Marshal(message.PingResponse{Nonce: v.Nonce})
	case message.AddrListRequest:
		re = message.Marshal(v)
	case message.AddrListResponse:
		checkPeers(t, v.Peers, message.MaxAddrList)
		re = message.Marshal(message.AddrListResponse{Peers: v.Peers})
	case message.AddrAnnounce:
		checkPeers(t, v.Peers, message.MaxAnnounce)
		re = message.Marshal(message.AddrAnnounce{Peers: v.Peers})
	case message.Disconnect:
		re = message.Marshal(message.Disconnect{Reason: v.Reason})
	default:
		t.Fatalf("Decode returned a %T for type %v", m, want)
	}
	if !bytes.Equal(re, data) {
		t.Fatalf("the decoded %T re-encodes to % x, want % x", m, re, data)
	}
}

func checkName(t *testing.T, names ...string) {
	for _, n := range names {
		if len(n) > message.MaxNameLen {
			t.Fatalf("name of %d bytes decoded", len(n))
		}
	}
}

func checkListen(t *testing.T, addrs []state.Addr, observed state.Addr) {
	if len(addrs) > message.MaxAddrsPerPeer {
		t.Fatalf("%d listen addresses decoded", len(addrs))
	}
	for _, a := range addrs {
		if !message.ValidAddr(string(a)) {
			t.Fatalf("invalid listen address %q decoded", a)
		}
	}
	if observed != "" && !message.ValidAddr(string(observed)) {
		t.Fatalf("invalid observed address %q decoded", observed)
	}
}

func checkPeers(t *testing.T, peers []state.PeerAddr, max int) {
	if len(peers) > max {
		t.Fatalf("%d peers decoded, limit %d", len(peers), max)
	}
	for _, p := range peers {
		if !message.ValidPeerID(string(p.ID)) {
			t.Fatalf("invalid peer ID %q decoded", p.ID)
		}
		if len(p.Addrs) == 0 || len(p.Addrs) > message.MaxAddrsPerPeer {
			t.Fatalf("peer %q with %d addresses decoded", p.ID, len(p.Addrs))
		}
		for _, a := range p.Addrs {
			if !message.ValidAddr(string(a)) {
				t.Fatalf("invalid address %q decoded", a)
			}
		}
	}
}

func fuzzType(f *testing.F, ty message.Type) {
	for _, s := range typeSeeds(ty) {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data, ty) })
}

func FuzzHello(f *testing.F)            { fuzzType(f, message.TypeHello) }
func FuzzHelloAck(f *testing.F)         { fuzzType(f, message.TypeHelloAck) }
func FuzzPingRequest(f *testing.F)      { fuzzType(f, message.TypePingRequest) }
func FuzzPingResponse(f *testing.F)     { fuzzType(f, message.TypePingResponse) }
func FuzzAddrListRequest(f *testing.F)  { fuzzType(f, message.TypeAddrListRequest) }
func FuzzAddrListResponse(f *testing.F) { fuzzType(f, message.TypeAddrListResponse) }
func FuzzAddrAnnounce(f *testing.F)     { fuzzType(f, message.TypeAddrAnnounce) }
func FuzzDisconnect(f *testing.F)       { fuzzType(f, message.TypeDisconnect) }

func FuzzDecode(f *testing.F) {
	for _, s := range allSeeds() {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data, 0) })
}

// --- seed corpus files ------------------------------------------------------

var fuzzTargets = []struct {
	name string
	ty   message.Type
}{
	{"FuzzHello", message.TypeHello},
	{"FuzzHelloAck", message.TypeHelloAck},
	{"FuzzPingRequest", message.TypePingRequest},
	{"FuzzPingResponse", message.TypePingResponse},
	{"FuzzAddrListRequest", message.TypeAddrListRequest},
	{"FuzzAddrListResponse", message.TypeAddrListResponse},
	{"FuzzAddrAnnounce", message.TypeAddrAnnounce},
	{"FuzzDisconnect", message.TypeDisconnect},
}

// corpusFile is the content of a seed file in Go's fuzz corpus format.
func corpusFile(data []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// checkCorpus makes sure testdata/fuzz/<target> holds every seed, so a plain
// go test runs them as well; with -update-corpus it writes them.
func checkCorpus(t *testing.T, target string, seeds []seed) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]bool{}
	for _, s := range seeds {
		if names[s.name] {
			t.Fatalf("%s: two seeds named %s", target, s.name)
		}
		names[s.name] = true
		path := filepath.Join(dir, "seed-"+s.name)
		want := corpusFile(s.data)
		if *updateCorpus {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is missing or stale (run go test -run TestSeedCorpus -update-corpus): %v", path, err)
		}
	}
}

func TestSeedCorpus(t *testing.T) {
	for _, ft := range fuzzTargets {
		checkCorpus(t, ft.name, typeSeeds(ft.ty))
	}
	checkCorpus(t, "FuzzDecode", allSeeds())
}

// TestSeedsDecodeAsExpected keeps the seeds honest: every valid sample
// decodes and every hand-made broken seed fails.
func TestSeedsDecodeAsExpected(t *testing.T) {
	valid := map[string]bool{}
	for _, s := range samples() {
		valid[s.name] = true
	}
	for _, s := range allSeeds() {
		_, err := message.Decode(s.data)
		switch {
		case valid[s.name] && err != nil:
			t.Errorf("seed %s: %v", s.name, err)
		case !valid[s.name] && err == nil && !strings.HasSuffix(s.name, "-other-type"):
			t.Errorf("broken seed %s decodes", s.name)
		}
	}
}
