package message

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Disconnect tells a peer why we are about to close the connection.
type Disconnect struct {
	Reason state.Reason
}

// Type is TypeDisconnect.
func (Disconnect) Type() Type                { return TypeDisconnect }
func (Disconnect) numFields() int            { return 1 }
func (m Disconnect) fields(e *codec.Encoder) { e.Uint(uint64(m.Reason)) }
func (m *Disconnect) decode(d *codec.Decoder) {
	// Unknown reasons are kept: a newer peer may know more of them.
	m.Reason = state.Reason(d.UintMax(255))
}
