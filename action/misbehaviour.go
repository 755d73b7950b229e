package action

import (
	"time"

	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Ban keeps a peer ID or an IP address away for a duration and drops any
// connection it has.
type Ban struct {
	// Target is a peer ID or an IP address.
	Target   string
	Duration time.Duration
	Reason   string
}

// Kind is KindBan.
func (Ban) Kind() Kind { return KindBan }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Ban) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.String(a.Target)
	e.Int(int64(a.Duration))
	e.String(a.Reason)
}

// Unban lifts a ban or a discouragement.
type Unban struct {
	Target string
}

// Kind is KindUnban.
func (Unban) Kind() Kind { return KindUnban }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Unban) EncodeCBOR(e *codec.Encoder) {
	e.Array(1)
	e.String(a.Target)
}

// FrameRejected reports that the service refused a frame from a peer before
// reading it: larger than its channel allows, on an unknown channel, or
// cut short. The service never allocates the claimed size.
type FrameRejected struct {
	Peer    state.PeerID
	Channel state.Channel
	Size    uint64
	Reason  string
}

// Kind is KindFrameRejected.
func (FrameRejected) Kind() Kind { return KindFrameRejected }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a FrameRejected) EncodeCBOR(e *codec.Encoder) {
	e.Array(4)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(a.Size)
	e.String(a.Reason)
}

// Misbehaved scores an offence of a peer; at the threshold the peer is
// disconnected and discouraged.
type Misbehaved struct {
	Peer    state.PeerID
	Offence state.Offence
	Detail  string
}

// Kind is KindMisbehaved.
func (Misbehaved) Kind() Kind { return KindMisbehaved }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Misbehaved) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Offence))
	e.String(a.Detail)
}

func init() {
	register(KindBan, "Ban", true, func(d *codec.Decoder) (a Ban) {
		d.ArrayLen(3)
		a.Target, a.Duration, a.Reason = str(d), time.Duration(d.Int()), str(d)
		return
	})
	register(KindUnban, "Unban", true, func(d *codec.Decoder) (a Unban) {
		d.ArrayLen(1)
		a.Target = str(d)
		return
	})
	register(KindFrameRejected, "FrameRejected", true, func(d *codec.Decoder) (a FrameRejected) {
		d.ArrayLen(4)
		a.Peer, a.Channel, a.Size, a.Reason = peerID(d), channel(d), d.Uint(), str(d)
		return
	})
	register(KindMisbehaved, "Misbehaved", false, func(d *codec.Decoder) (a Misbehaved) {
		d.ArrayLen(3)
		a.Peer, a.Offence, a.Detail = peerID(d), state.Offence(d.UintMax(255)), str(d)
		return
	})
}
