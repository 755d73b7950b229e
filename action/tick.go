package action

import "github.com/p2pcore/p2pcore/codec"

// Tick lets time pass: timeouts, pings, redials and saves are decided on it
// from Meta.Time.
type Tick struct{}

// Kind is KindTick.
func (Tick) Kind() Kind { return KindTick }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (Tick) EncodeCBOR(e *codec.Encoder) { e.Array(0) }

func init() {
	register(KindTick, "Tick", true, func(d *codec.Decoder) Tick { d.ArrayLen(0); return Tick{} })
}
