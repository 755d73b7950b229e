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

func peerID(d *codec.Decoder) state.PeerID { return state.PeerID(d.String(MaxString)) }

func str(d *codec.Decoder) string { return d.String(MaxString) }

func channel(d *codec.Decoder) state.Channel { return state.Channel(d.UintMax(255)) }

func encodePeerAddrs(e *codec.Encoder, peers []state.PeerAddr) {
	e.Array(len(peers))
	for _, p := range peers {
		e.Array(2)
		e.String(string(p.ID))
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
		e.String(string(id))
	}
}
