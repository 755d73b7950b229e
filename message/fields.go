package message

import (
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
