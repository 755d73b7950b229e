package message

import "github.com/p2pcore/p2pcore/codec"

// PingRequest asks an idle peer to prove it is alive.
type PingRequest struct {
	Nonce uint64
}

// Type is TypePingRequest.
func (PingRequest) Type() Type                 { return TypePingRequest }
func (PingRequest) numFields() int             { return 1 }
func (m PingRequest) fields(e *codec.Encoder)  { e.Uint(m.Nonce) }
func (m *PingRequest) decode(d *codec.Decoder) { m.Nonce = d.Uint() }

// PingResponse echoes the nonce of a PingRequest.
type PingResponse struct {
	Nonce uint64
}

// Type is TypePingResponse.
func (PingResponse) Type() Type                 { return TypePingResponse }
func (PingResponse) numFields() int             { return 1 }
func (m PingResponse) fields(e *codec.Encoder)  { e.Uint(m.Nonce) }
func (m *PingResponse) decode(d *codec.Decoder) { m.Nonce = d.Uint() }
