package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Helpers for the field types that many actions share.

func encodeAddrs(e *codec.Encoder, addrs []state.Addr) {
	e.Array(len(addrs))
	for _, a := range addrs {
		e.String(string(a))
	}
}

func decodeAddrs(d *codec.Decoder) []state.Addr {
	n := d.ArrayMax(MaxList)
	if n == 0 {
		return nil
	}
	out := make([]state.Addr, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, state.Addr(d.String(MaxString)))
	}
	return out
}

// peerID reads a peer ID, written in full or, in a log, as a shared string
// (codec.Encoder.Shared).
func peerID(d *codec.Decoder) state.PeerID { return state.PeerID(d.SharedString(MaxString)) }

func str(d *codec.Decoder) string { return d.String(MaxString) }

func channel(d *codec.Decoder) state.Channel { return state.Channel(d.UintMax(255)) }

func encodePeerAddrs(e *codec.Encoder, peers []state.PeerAddr) {
	e.Array(len(peers))
	for _, p := range peers {
		e.Array(2)
		e.Shared(string(p.ID))
		encodeAddrs(e, p.Addrs)
	}
}

func decodePeerAddrs(d *codec.Decoder) []state.PeerAddr {
	n := d.ArrayMax(MaxList)
	if n == 0 {
		return nil
	}
	out := make([]state.PeerAddr, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.ArrayLen(2)
		id := peerID(d)
		out = append(out, state.PeerAddr{ID: id, Addrs: decodeAddrs(d)})
	}
	return out
}

func encodePeerIDs(e *codec.Encoder, ids []state.PeerID) {
	e.Array(len(ids))
	for _, id := range ids {
		e.Shared(string(id))
	}
}

// Payloads: an application payload is held in full, or — in a log, above
// the record limit — as its length and SHA-256 only.

// Digester is implemented by actions with an application payload that a log
// may record by digest: Digested returns the action with its payload
// replaced by length and sum when it is longer than limit, and nil and
// false otherwise (without boxing a copy: it runs for every action
// recorded).
type Digester interface {
	Digested(limit int, sum func([]byte) [32]byte) (Action, bool)
}

func payloadLen(data []byte, size uint64) int {
	if data == nil && size > 0 {
		return int(size)
	}
	return len(data)
}

func payloadSize(d *codec.Decoder) uint64 {
	n := d.UintMax(MaxData)
	if d.Err() == nil && n == 0 {
		d.Fail("a digested payload of 0 bytes")
	}
	return n
}

func decodeSum(d *codec.Decoder) (s [32]byte) {
	b := d.BytesView(32)
	if d.Err() == nil && len(b) != 32 {
		d.Fail("a payload digest of %d bytes", len(b))
	}
	copy(s[:], b)
	return s
}
