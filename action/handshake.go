package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// HelloReceived is a decoded Hello from a peer.
type HelloReceived struct {
	Peer  state.PeerID
	Hello message.Hello
}

// Kind is KindHelloReceived.
func (HelloReceived) Kind() Kind { return KindHelloReceived }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a HelloReceived) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Bytes(message.Marshal(a.Hello))
}

// HelloAckReceived is a decoded HelloAck from a peer.
type HelloAckReceived struct {
	Peer state.PeerID
	Ack  message.HelloAck
}

// Kind is KindHelloAckReceived.
func (HelloAckReceived) Kind() Kind { return KindHelloAckReceived }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a HelloAckReceived) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Bytes(message.Marshal(a.Ack))
}

// PeerReady is queued when a handshake completes.
type PeerReady struct {
	Peer state.PeerID
}

// Kind is KindPeerReady.
func (PeerReady) Kind() Kind { return KindPeerReady }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a PeerReady) EncodeCBOR(e *codec.Encoder) {
	e.Array(1)
	e.Shared(string(a.Peer))
}

// decodeMessage reads an embedded control message of type T.
func decodeMessage[T message.Message](d *codec.Decoder) T {
	var zero T
	start := d.Offset()
	b := d.BytesView(MaxData)
	if d.Err() != nil {
		return zero
	}
	m, err := message.Decode(b)
	if err != nil {
		d.FailAt(start, "%v", err)
		return zero
	}
	v, ok := m.(T)
	if !ok {
		d.FailAt(start, "embedded %s where %s was expected", m.Type(), zero.Type())
	}
	return v
}

func init() {
	register(KindHelloReceived, "HelloReceived", false, func(d *codec.Decoder) (a HelloReceived) {
		d.ArrayLen(2)
		a.Peer, a.Hello = peerID(d), decodeMessage[message.Hello](d)
		return
	})
	register(KindHelloAckReceived, "HelloAckReceived", false, func(d *codec.Decoder) (a HelloAckReceived) {
		d.ArrayLen(2)
		a.Peer, a.Ack = peerID(d), decodeMessage[message.HelloAck](d)
		return
	})
	register(KindPeerReady, "PeerReady", false, func(d *codec.Decoder) (a PeerReady) {
		d.ArrayLen(1)
		a.Peer = peerID(d)
		return
	})
}
