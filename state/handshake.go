package state

// Handshake is what the Hello/HelloAck exchange established with a peer.
type Handshake struct {
	// Nonce is the nonce of the Hello we sent (dialler role); an incoming
	// Hello carrying one of our own nonces is a connection to ourselves.
	Nonce uint64
	// HelloSent is set when we sent Hello and wait for HelloAck.
	HelloSent bool
	// Done is set when the handshake completed; every Ready peer has it.
	Done bool
	// Version is the negotiated protocol version.
	Version uint32
	// What the peer told us about itself.
	Software    string
	Services    uint64
	ListenAddrs []Addr
	// Observed is our address as the peer saw it.
	Observed Addr
	// ClockOffset is the peer's clock minus ours, in seconds, at handshake.
	ClockOffset int64
}

// Reason is why a connection was closed or refused. Reasons travel on the
// wire in a Disconnect message before the close, and are counted.
type Reason uint8

// Disconnect reasons. Values are part of the wire protocol: append only.
const (
	ReasonNone Reason = iota
	ReasonRequested
	ReasonShutdown
	ReasonTooManyPeers
	ReasonTooManyPending
	ReasonGroupLimit
	ReasonWrongNetwork
	ReasonIncompatibleVersion
	ReasonClockSkew
	ReasonSelfConnection
	ReasonHandshakeTimeout
	ReasonPingTimeout
	ReasonBadPingNonce
	ReasonMisbehaviour
	ReasonBanned
	ReasonDialTimeout
	ReasonRemoteClosed
	ReasonDuplicate
	ReasonBootstrapDone
	ReasonSlowPeer
	NumReasons
)

var reasonNames = []string{
	"none", "requested", "shutdown", "too many peers", "too many pending handshakes",
	"address group limit", "wrong network", "incompatible version", "clock skew",
	"self connection", "handshake timeout", "ping timeout", "bad ping nonce",
	"misbehaviour", "banned", "dial timeout", "remote closed", "duplicate connection",
	"bootstrap done", "slow peer",
}

// String names the value for logs and traces.
func (r Reason) String() string { return enumText(reasonNames, int(r), "reason") }

// MarshalText names the reason.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a reason name.
func (r *Reason) UnmarshalText(b []byte) error {
	v, err := enumParse(reasonNames, b, "reason")
	*r = Reason(v)
	return err
}
