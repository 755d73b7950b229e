package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// PingSend is queued for a ready peer that has been idle for the ping
// interval: its reducer draws the nonce, its effect sends the request.
type PingSend struct {
	Peer state.PeerID
}

// Kind is KindPingSend.
func (PingSend) Kind() Kind { return KindPingSend }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a PingSend) EncodeCBOR(e *codec.Encoder) {
	e.Array(1)
	e.Shared(string(a.Peer))
}

// PingRequestReceived is a decoded PingRequest from a peer.
type PingRequestReceived struct {
	Peer  state.PeerID
	Nonce uint64
}

// Kind is KindPingRequestReceived.
func (PingRequestReceived) Kind() Kind { return KindPingRequestReceived }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a PingRequestReceived) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Uint(a.Nonce)
}

// PingResponseReceived is a decoded PingResponse from a peer.
type PingResponseReceived struct {
	Peer  state.PeerID
	Nonce uint64
}

// Kind is KindPingResponseReceived.
func (PingResponseReceived) Kind() Kind { return KindPingResponseReceived }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a PingResponseReceived) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Uint(a.Nonce)
}

func init() {
	register(KindPingSend, "PingSend", false, func(d *codec.Decoder) (a PingSend) {
		d.ArrayLen(1)
		a.Peer = peerID(d)
		return
	})
	register(KindPingRequestReceived, "PingRequestReceived", false, func(d *codec.Decoder) (a PingRequestReceived) {
		d.ArrayLen(2)
		a.Peer, a.Nonce = peerID(d), d.Uint()
		return
	})
	register(KindPingResponseReceived, "PingResponseReceived", false, func(d *codec.Decoder) (a PingResponseReceived) {
		d.ArrayLen(2)
		a.Peer, a.Nonce = peerID(d), d.Uint()
		return
	})
}
