package message

import (
	"fmt"
	"strconv"
	"strings"

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
	// Channels are the sender's application channels, numbered 1, 2, …
	// in this order (protocol version 2 on; absent from a version 1
	// Hello).
	Channels []ChannelInfo
}

// Type is TypeHello.
func (Hello) Type() Type { return TypeHello }
func (m Hello) numFields() int {
	if m.Version < 2 {
		return 8
	}
	return 9
}
func (m Hello) fields(e *codec.Encoder) {
	encodeHelloFields(e, m.Version, m.Network, m.Software, m.Services, m.ListenAddrs, m.Observed, m.UnixTime)
	e.Uint(m.Nonce)
	if m.Version >= 2 {
		encodeChannels(e, m.Channels)
	}
}
func (m *Hello) decode(d *codec.Decoder) {
	m.Version, m.Network, m.Software, m.Services, m.ListenAddrs, m.Observed, m.UnixTime = decodeHelloFields(d)
	m.Nonce = d.Uint()
	if m.Version >= 2 {
		m.Channels = decodeChannels(d)
	}
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
	// Channels are the sender's application channels, as in Hello.
	Channels []ChannelInfo
}

// Type is TypeHelloAck.
func (HelloAck) Type() Type { return TypeHelloAck }
func (m HelloAck) numFields() int {
	if m.Version < 2 {
		return 7
	}
	return 8
}
func (m HelloAck) fields(e *codec.Encoder) {
	encodeHelloFields(e, m.Version, m.Network, m.Software, m.Services, m.ListenAddrs, m.Observed, m.UnixTime)
	if m.Version >= 2 {
		encodeChannels(e, m.Channels)
	}
}
func (m *HelloAck) decode(d *codec.Decoder) {
	m.Version, m.Network, m.Software, m.Services, m.ListenAddrs, m.Observed, m.UnixTime = decodeHelloFields(d)
	if m.Version >= 2 {
		m.Channels = decodeChannels(d)
	}
}

// ChannelInfo is one channel as a handshake lists it: two nodes share a
// channel when both list one of the same name, kind and version.
type ChannelInfo struct {
	Name    string
	Kind    state.ChannelKind
	Version uint32
}

// ChannelInfos lists cfg's application channels (all but control) as a
// Hello or HelloAck carries them.
func ChannelInfos(cfg *state.Config) []ChannelInfo {
	out := make([]ChannelInfo, 0, len(cfg.Channels)-1)
	for _, ch := range cfg.Channels[1:] {
		out = append(out, ChannelInfo{Name: ch.Name, Kind: ch.Kind, Version: ch.Version})
	}
	return out
}

// String is the info's text form, name/kind/version ("block/broadcast/1").
func (c ChannelInfo) String() string {
	return c.Name + "/" + c.Kind.String() + "/" + strconv.FormatUint(uint64(c.Version), 10)
}

// MarshalText writes the text form.
func (c ChannelInfo) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads the text form.
func (c *ChannelInfo) UnmarshalText(b []byte) error {
	parts := strings.Split(string(b), "/")
	if len(parts) != 3 {
		return fmt.Errorf("channel %q: want name/kind/version", b)
	}
	v, err := strconv.ParseUint(parts[2], 10, 32)
	if err != nil {
		return fmt.Errorf("channel %q: version: %w", b, err)
	}
	c.Name, c.Version = parts[0], uint32(v)
	return c.Kind.UnmarshalText([]byte(parts[1]))
}

// encodeChannels writes channel infos as an array of [name, kind,
// version] arrays.
func encodeChannels(e *codec.Encoder, chans []ChannelInfo) {
	e.Array(len(chans))
	for _, c := range chans {
		e.Array(3)
		e.String(c.Name)
		e.Uint(uint64(c.Kind))
		e.Uint(uint64(c.Version))
	}
}

// decodeChannels reads what encodeChannels wrote: at most
// state.MaxChannels-1 channels with valid, distinct names, known kinds
// and versions from 1.
func decodeChannels(d *codec.Decoder) []ChannelInfo {
	n := d.ArrayMax(state.MaxChannels - 1)
	if n == 0 {
		return nil
	}
	out := make([]ChannelInfo, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		start := d.Offset()
		d.ArrayLen(3)
		c := ChannelInfo{Name: d.String(state.MaxChannelName)}
		c.Kind = state.ChannelKind(d.UintMax(uint64(state.Request)))
		c.Version = uint32(d.UintMax(1<<32 - 1))
		if d.Err() != nil {
			break
		}
		if !state.ValidChannelName(c.Name) || c.Name == "control" || c.Version == 0 {
			d.FailAt(start, "channel %d: %q version %d is not a channel", i, c.Name, c.Version)
			break
		}
		for _, o := range out {
			if o.Name == c.Name {
				d.FailAt(start, "channel %q listed twice", c.Name)
			}
		}
		out = append(out, c)
	}
	return out
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
