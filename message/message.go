// Package message is the p2pcore control protocol: the messages two nodes
// exchange on the control channel (handshake, ping, peer exchange,
// disconnect reasons) and their encoding.
//
// A message is a CBOR array whose first item is its Type. Decoding is
// strict: limits are checked before anything is allocated, every field is
// validated, and only the canonical encoding is accepted, so
// Encode(Decode(b)) == b for every b that decodes. Decoding happens in the
// reducers, which is what lets the simulator and the fuzzer exercise exactly
// the checks a production node runs.
package message

import (
	"fmt"

	"github.com/p2pcore/p2pcore/codec"
)

// Type identifies a control message. Values are part of the wire protocol:
// append only.
type Type uint8

// Message types.
const (
	TypeHello Type = iota + 1
	TypeHelloAck
	TypePingRequest
	TypePingResponse
	TypeAddrListRequest
	TypeAddrListResponse
	TypeAddrAnnounce
	TypeDisconnect
	typeEnd
)

var typeNames = [...]string{"", "Hello", "HelloAck", "PingRequest", "PingResponse",
	"AddrListRequest", "AddrListResponse", "AddrAnnounce", "Disconnect"}

// String names the value for logs and traces.
func (t Type) String() string {
	if t > 0 && t < typeEnd {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Wire limits. They bound what a peer can make us decode; the configured
// limits of the state machine may be lower.
const (
	// MaxAddrList is the most entries in an AddrListResponse.
	MaxAddrList = 1000
	// MaxAnnounce is the most entries in an AddrAnnounce.
	MaxAnnounce = 10
	// MaxAddrsPerPeer is the most addresses per entry or in ListenAddrs.
	MaxAddrsPerPeer = 8
	// MaxAddrLen is the longest address accepted.
	MaxAddrLen = 256
	// MaxPeerIDLen is the longest peer ID accepted.
	MaxPeerIDLen = 128
	// MaxNameLen bounds the network and software names.
	MaxNameLen = 64
)

// Message is one control message.
type Message interface {
	// Type is the message type.
	Type() Type
	// fields encodes the message's fields after its type.
	fields(e *codec.Encoder)
	// numFields is the number of fields after the type.
	numFields() int
}

// decodable is a pointer to a message being decoded.
type decodable interface {
	Message
	// decode reads the fields after the type.
	decode(d *codec.Decoder)
}

// Encode appends the encoding of m to buf and returns it.
func Encode(buf []byte, m Message) []byte {
	e := codec.NewEncoder(buf[len(buf):])
	e.Array(1 + m.numFields())
	e.Uint(uint64(m.Type()))
	m.fields(e)
	return append(buf, e.Encoded()...)
}

// Marshal returns the encoding of m in a new slice.
func Marshal(m Message) []byte { return Encode(nil, m) }

// Decode parses one control message. The error says what was wrong and at
// which byte.
func Decode(b []byte) (Message, error) {
	d := codec.NewDecoder(b)
	n := d.Array()
	if d.Err() != nil {
		return nil, fmt.Errorf("message: %w", d.Err())
	}
	if n == 0 {
		return nil, fmt.Errorf("message: empty array")
	}
	t := Type(d.UintMax(255))
	if d.Err() != nil {
		return nil, fmt.Errorf("message type: %w", d.Err())
	}
	m := newMessage(t)
	if m == nil {
		return nil, fmt.Errorf("message: unknown type %d", t)
	}
	// A message's field count may depend on its fields (a Hello's on
	// its version): checked before decoding against the range its type
	// allows, and again after against what its fields call for.
	if lo, hi := fieldRange(t); n-1 < lo || n-1 > hi {
		want := fmt.Sprint(lo)
		if hi > lo {
			want = fmt.Sprintf("%d or %d", lo, hi)
		}
		return nil, fmt.Errorf("message %s: %d fields, want %s", t, n-1, want)
	}
	m.decode(d)
	if want := m.numFields(); n-1 != want && (d.Err() == nil || want > n-1) {
		return nil, fmt.Errorf("message %s: %d fields, want %d for version %d", t, n-1, want, version(m))
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("message %s: %w", t, err)
	}
	return deref(m), nil
}

// fieldRange is how many fields after the type a message of type t may
// have: a Hello or HelloAck of version 1 has one fewer than later ones.
func fieldRange(t Type) (lo, hi int) {
	switch t {
	case TypeHello:
		return Hello{Version: 1}.numFields(), Hello{Version: 2}.numFields()
	case TypeHelloAck:
		return HelloAck{Version: 1}.numFields(), HelloAck{Version: 2}.numFields()
	}
	n := newMessage(t).numFields()
	return n, n
}

// version is the protocol version a handshake message states.
func version(m decodable) uint32 {
	switch m := m.(type) {
	case *Hello:
		return m.Version
	case *HelloAck:
		return m.Version
	}
	return 0
}

// newMessage returns a pointer to a zero message of type t, or nil.
func newMessage(t Type) decodable {
	switch t {
	case TypeHello:
		return &Hello{}
	case TypeHelloAck:
		return &HelloAck{}
	case TypePingRequest:
		return &PingRequest{}
	case TypePingResponse:
		return &PingResponse{}
	case TypeAddrListRequest:
		return &AddrListRequest{}
	case TypeAddrListResponse:
		return &AddrListResponse{}
	case TypeAddrAnnounce:
		return &AddrAnnounce{}
	case TypeDisconnect:
		return &Disconnect{}
	}
	return nil
}

// deref turns the decoding pointer into the value type callers switch on.
func deref(m decodable) Message {
	switch v := m.(type) {
	case *Hello:
		return *v
	case *HelloAck:
		return *v
	case *PingRequest:
		return *v
	case *PingResponse:
		return *v
	case *AddrListRequest:
		return *v
	case *AddrListResponse:
		return *v
	case *AddrAnnounce:
		return *v
	case *Disconnect:
		return *v
	}
	return m
}
