package message

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// AddrListRequest asks a peer for addresses it knows. A node asks each
// outbound peer once.
type AddrListRequest struct{}

// Type is TypeAddrListRequest.
func (AddrListRequest) Type() Type             { return TypeAddrListRequest }
func (AddrListRequest) numFields() int         { return 0 }
func (AddrListRequest) fields(*codec.Encoder)  {}
func (*AddrListRequest) decode(*codec.Decoder) {}

// AddrListResponse answers an AddrListRequest with at most MaxAddrList
// peers.
type AddrListResponse struct {
	Peers []state.PeerAddr
}

// Type is TypeAddrListResponse.
func (AddrListResponse) Type() Type                 { return TypeAddrListResponse }
func (AddrListResponse) numFields() int             { return 1 }
func (m AddrListResponse) fields(e *codec.Encoder)  { encodePeerAddrs(e, m.Peers) }
func (m *AddrListResponse) decode(d *codec.Decoder) { m.Peers = decodePeerAddrs(d, MaxAddrList) }

// AddrAnnounce is unsolicited: a node announces its own address to its
// outbound peers, and a node relays addresses new to it to a few peers
// (Bitcoin's addr relay). At most MaxAnnounce peers.
type AddrAnnounce struct {
	Peers []state.PeerAddr
}

// Type is TypeAddrAnnounce.
func (AddrAnnounce) Type() Type                 { return TypeAddrAnnounce }
func (AddrAnnounce) numFields() int             { return 1 }
func (m AddrAnnounce) fields(e *codec.Encoder)  { encodePeerAddrs(e, m.Peers) }
func (m *AddrAnnounce) decode(d *codec.Decoder) { m.Peers = decodePeerAddrs(d, MaxAnnounce) }
