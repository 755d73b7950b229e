package message

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Hello opens the handshake; the dialler sends it (Mintlayer's Hello).
type Hello struct {
	// Version is the highest protocol version the sender speaks.
	Version  uint32
	Network  string
	Software string
	// Services is the sender's service bitmap.
	Services uint64
	// ListenAddrs are where the sender accepts connections.
	ListenAddrs []state.Addr
	// Observed is the receiver's address as the sender sees it ("" if
	// unknown).
	Observed state.Addr
	// UnixTime is the sender's clock in seconds.
	UnixTime int64
	// Nonce detects connections to ourselves.
	Nonce uint64
}

// Type is TypeHello.
func (Hello) Type() Type     { return TypeHello }
func (Hello) numFields() int { return 8 }
func (m Hello) fields(e *codec.Encoder) {
	encodeHelloFields(e, m.Version, m.Network, m.Software, m.Services, m.ListenAddrs, m.Observed, m.UnixTime)
	e.Uint(m.Nonce)
}
func (m *Hello) decode(d *codec.Decoder) {
	m.Version, m.Network, m.Software, m.Services, m.ListenAddrs, m.Observed, m.UnixTime = decodeHelloFields(d)
	m.Nonce = d.Uint()
}

// HelloAck answers a compatible Hello; the listener sends it. It carries the
// same information as Hello but no nonce.
type HelloAck struct {
	Version     uint32
	Network     string
	Software    string
	Services    uint64
	ListenAddrs []state.Addr
	Observed    state.Addr
	UnixTime    int64
}

// Type is TypeHelloAck.
func (HelloAck) Type() Type     { return TypeHelloAck }
func (HelloAck) numFields() int { return 7 }
func (m HelloAck) fields(e *codec.Encoder) {
	encodeHelloFields(e, m.Version, m.Network, m.Software, m.Services, m.ListenAddrs, m.Observed, m.UnixTime)
}
func (m *HelloAck) decode(d *codec.Decoder) {
	m.Version, m.Network, m.Software, m.Services, m.ListenAddrs, m.Observed, m.UnixTime = decodeHelloFields(d)
}

func encodeHelloFields(e *codec.Encoder, version uint32, network, software string, services uint64,
	listen []state.Addr, observed state.Addr, unix int64) {
	e.Uint(uint64(version))
	e.String(network)
	e.String(software)
	e.Uint(services)
	encodeAddrs(e, listen)
	e.String(string(observed))
	e.Int(unix)
}

func decodeHelloFields(d *codec.Decoder) (version uint32, network, software string, services uint64,
	listen []state.Addr, observed state.Addr, unix int64) {
	version = uint32(d.UintMax(1<<32 - 1))
	network = decodeName(d)
	software = decodeName(d)
	services = d.Uint()
	listen = decodeAddrs(d)
	observed = decodeAddr(d, true)
	unix = d.Int()
	return
}
