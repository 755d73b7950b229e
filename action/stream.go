package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Streams: a peer opening a stream to us is a fact the service reports; the
// state machine decides whether it may be read (the per-peer cap), and the
// service resets it otherwise.

// StreamOpened reports an inbound stream a peer opened. Stream numbers the
// stream for this node's service (never reused while it runs); Protocol is
// the stream's protocol ID. The service reads nothing from it until an
// AcceptStream command, and resets it on ResetStream.
type StreamOpened struct {
	Peer     state.PeerID
	Stream   uint64
	Protocol string
}

// Kind is KindStreamOpened.
func (StreamOpened) Kind() Kind { return KindStreamOpened }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a StreamOpened) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Uint(a.Stream)
	e.String(a.Protocol)
}

// StreamClosed reports that an inbound stream ended, whoever ended it.
type StreamClosed struct {
	Peer   state.PeerID
	Stream uint64
}

// Kind is KindStreamClosed.
func (StreamClosed) Kind() Kind { return KindStreamClosed }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a StreamClosed) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Uint(a.Stream)
}

func init() {
	register(KindStreamOpened, "StreamOpened", true, func(d *codec.Decoder) (a StreamOpened) {
		d.ArrayLen(3)
		a.Peer, a.Stream, a.Protocol = peerID(d), d.Uint(), str(d)
		return
	})
	register(KindStreamClosed, "StreamClosed", true, func(d *codec.Decoder) (a StreamClosed) {
		d.ArrayLen(2)
		a.Peer, a.Stream = peerID(d), d.Uint()
		return
	})
}
