package state

import (
	"fmt"
	"strconv"
)

// PeerID identifies a peer. Under go-libp2p it is the peer ID's string form;
// in the simulator it is a short name. The state machine treats it as an
// opaque string.
type PeerID string

// Short is a prefix of the ID for one-line output.
func (p PeerID) Short() string {
	const keep = 12
	if len(p) <= keep+2 {
		return string(p)
	}
	// libp2p IDs share their first characters ("12D3KooW"), so keep the tail.
	return "…" + string(p[len(p)-keep:])
}

// IDScheme says which text forms of a peer ID are canonical: only those are
// accepted, on the wire and through the API (see message.CanonicalPeerID).
type IDScheme uint8

// ID schemes. The node, which runs on go-libp2p, always uses IDsLibp2p;
// simulations and tests use names.
const (
	// IDsNames: short names of letters, digits, '-', '_' and '.', as the
	// simulator and the transcript tests use ("node-003").
	IDsNames IDScheme = iota
	// IDsLibp2p: go-libp2p peer IDs, base58btc multihashes ("12D3KooW…").
	IDsLibp2p
)

var idSchemeNames = []string{"names", "libp2p"}

// String names the value for logs and traces.
func (i IDScheme) String() string { return enumText(idSchemeNames, int(i), "ids") }

// MarshalText names the scheme.
func (i IDScheme) MarshalText() ([]byte, error) { return []byte(i.String()), nil }

// UnmarshalText parses a scheme name.
func (i *IDScheme) UnmarshalText(b []byte) error {
	v, err := enumParse(idSchemeNames, b, "peer ID scheme")
	*i = IDScheme(v)
	return err
}

// Addr is a multiaddr in its canonical text form, e.g.
// "/ip4/127.0.0.1/tcp/4001".
type Addr string

// PeerAddr is a peer with the addresses it can be dialled at.
type PeerAddr struct {
	ID    PeerID
	Addrs []Addr
}

// Direction says who opened a connection.
type Direction uint8

// Directions.
const (
	DirNone Direction = iota
	Outbound
	Inbound
)

// String names the value for logs and traces.
func (d Direction) String() string {
	switch d {
	case Outbound:
		return "out"
	case Inbound:
		return "in"
	}
	return "none"
}

// MarshalText names the direction.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "out" or "in".
func (d *Direction) UnmarshalText(b []byte) error {
	switch string(b) {
	case "out":
		*d = Outbound
	case "in":
		*d = Inbound
	case "none":
		*d = DirNone
	default:
		return fmt.Errorf("unknown direction %q (want out or in)", b)
	}
	return nil
}

// enumText is shared by the small enums that have a name table.
func enumText(names []string, v int, kind string) string {
	if v >= 0 && v < len(names) && names[v] != "" {
		return names[v]
	}
	return kind + "(" + strconv.Itoa(v) + ")"
}

func enumParse(names []string, b []byte, kind string) (int, error) {
	for i, n := range names {
		if n != "" && n == string(b) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q", kind, b)
}
