package message

import (
	"strings"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// ValidAddr reports whether s is a multiaddr in canonical text form, short
// enough to keep.
func ValidAddr(s string) bool {
	if len(s) == 0 || len(s) > MaxAddrLen || s[0] != '/' {
		return false
	}
	if plainIP4(s) {
		return true
	}
	m, err := ma.NewMultiaddr(s)
	return err == nil && m.String() == s
}

// ValidPeerID reports whether s can be a peer ID: 1 to MaxPeerIDLen
// printable ASCII characters. The service checks the libp2p form before it
// dials; here we only keep junk out of the state.
func ValidPeerID(s string) bool {
	if len(s) == 0 || len(s) > MaxPeerIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Sendable returns the part of addrs a peer will accept: the first
// MaxAddrsPerPeer valid addresses. A host with many interfaces and
// transports easily has more, and a list over the wire limit would get our
// whole message scored as malformed.
func Sendable(addrs []state.Addr) []state.Addr {
	out := make([]state.Addr, 0, min(len(addrs), MaxAddrsPerPeer))
	for _, a := range addrs {
		if len(out) == MaxAddrsPerPeer {
			break
		}
		if ValidAddr(string(a)) {
			out = append(out, a)
		}
	}
	return out
}

// SendableAddr is a, or "" if a peer would refuse it.
func SendableAddr(a state.Addr) state.Addr {
	if ValidAddr(string(a)) {
		return a
	}
	return ""
}

// PeerAddrSize bounds the encoded size of one entry of an address list,
// so a sender can keep a list within a channel's message size.
func PeerAddrSize(pa state.PeerAddr) int {
	n := 1 + 9 + len(pa.ID) + 9 // array head, ID head and text, addrs head
	for _, a := range pa.Addrs {
		n += 9 + len(a)
	}
	return n
}

func encodeAddrs(e *codec.Encoder, addrs []state.Addr) {
	e.Array(len(addrs))
	for _, a := range addrs {
		e.String(string(a))
	}
}

func decodeAddr(d *codec.Decoder, optional bool) state.Addr {
	start := d.Offset()
	s := d.String(MaxAddrLen)
	if d.Err() != nil || (optional && s == "") {
		return ""
	}
	if !ValidAddr(s) {
		d.FailAt(start, "invalid multiaddr %q", s)
		return ""
	}
	return state.Addr(s)
}

func decodeAddrs(d *codec.Decoder) []state.Addr {
	n := d.ArrayMax(MaxAddrsPerPeer)
	if n == 0 {
		return nil
	}
	out := make([]state.Addr, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, decodeAddr(d, false))
	}
	return out
}

func decodePeerID(d *codec.Decoder) state.PeerID {
	start := d.Offset()
	s := d.String(MaxPeerIDLen)
	if d.Err() != nil {
		return ""
	}
	if !ValidPeerID(s) {
		d.FailAt(start, "invalid peer ID %q", s)
		return ""
	}
	return state.PeerID(s)
}

func decodeName(d *codec.Decoder) string {
	return d.String(MaxNameLen)
}

// PeerAddrs are peers with addresses, as exchanged in peer exchange.
func encodePeerAddrs(e *codec.Encoder, peers []state.PeerAddr) {
	e.Array(len(peers))
	for _, p := range peers {
		e.Array(2)
		e.String(string(p.ID))
		encodeAddrs(e, p.Addrs)
	}
}

func decodePeerAddrs(d *codec.Decoder, max int) []state.PeerAddr {
	n := d.ArrayMax(max)
	if n == 0 {
		return nil
	}
	out := make([]state.PeerAddr, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.ArrayLen(2)
		id := decodePeerID(d)
		addrs := decodeAddrs(d)
		if d.Err() == nil && len(addrs) == 0 {
			d.Fail("peer %s has no address", id)
		}
		out = append(out, state.PeerAddr{ID: id, Addrs: addrs})
	}
	return out
}

// plainIP4 recognises the commonest address, /ip4/A.B.C.D/tcp/PORT or
// /ip4/A.B.C.D/udp/PORT/quic-v1, in canonical form (no leading zeros,
// octets and port in range) without go-multiaddr: parsing every address
// of every address list was the dearest part of peer exchange in a large
// network. Anything else it leaves to the full parse; a test holds it to
// agreeing with go-multiaddr.
func plainIP4(s string) bool {
	rest, ok := strings.CutPrefix(s, "/ip4/")
	if !ok {
		return false
	}
	for i := 0; i < 4; i++ {
		if _, rest, ok = leadingNumber(rest, 255); !ok {
			return false
		}
		sep := byte('.')
		if i == 3 {
			sep = '/'
		}
		if len(rest) == 0 || rest[0] != sep {
			return false
		}
		rest = rest[1:]
	}
	var quic bool
	switch {
	case strings.HasPrefix(rest, "tcp/"):
		rest = rest[4:]
	case strings.HasPrefix(rest, "udp/"):
		rest, quic = rest[4:], true
	default:
		return false
	}
	if _, rest, ok = leadingNumber(rest, 65535); !ok {
		return false
	}
	if quic {
		return rest == "/quic-v1"
	}
	return rest == ""
}

// leadingNumber reads a canonical decimal number of at most limit from the
// front of s.
func leadingNumber(s string, limit int) (int, string, bool) {
	i, n := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
		if n > limit || i > 5 {
			return 0, s, false
		}
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	return n, s[i:], true
}
