package action

import (
	"time"

	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// HTTP over libp2p. Our HTTP client asks the state machine before each
// request to a peer (HTTPAsk) and waits for its grant: the per-peer rate
// limit is a reducer's decision. Each exchange, ours or a peer's with our
// handlers, is recorded when it ends (HTTPExchanged), without its bodies.

// HTTPAsk is our HTTP client asking to send request Ticket (its own
// number, unique per peer while it waits) to Peer.
type HTTPAsk struct {
	Peer   state.PeerID
	Ticket uint64
}

// Kind is KindHTTPAsk.
func (HTTPAsk) Kind() Kind { return KindHTTPAsk }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a HTTPAsk) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Uint(a.Ticket)
}

// HTTPCancel withdraws a waiting HTTPAsk (its caller gave up).
type HTTPCancel struct {
	Peer   state.PeerID
	Ticket uint64
}

// Kind is KindHTTPCancel.
func (HTTPCancel) Kind() Kind { return KindHTTPCancel }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a HTTPCancel) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Uint(a.Ticket)
}

// HTTPExchanged records one HTTP exchange over libp2p: Inbound for a
// peer's request to our handlers, otherwise ours. Status is 0 when no
// response came (Error says why); Bytes counts the response body; the
// service measured Duration, which comes in as data like the rest.
type HTTPExchanged struct {
	Peer     state.PeerID
	Inbound  bool
	Method   string
	Path     string
	Status   int
	Bytes    int64
	Duration time.Duration
	Error    string
}

// Kind is KindHTTPExchanged.
func (HTTPExchanged) Kind() Kind { return KindHTTPExchanged }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a HTTPExchanged) EncodeCBOR(e *codec.Encoder) {
	e.Array(8)
	e.Shared(string(a.Peer))
	e.Bool(a.Inbound)
	e.String(a.Method)
	e.String(a.Path)
	e.Int(int64(a.Status))
	e.Int(a.Bytes)
	e.Int(int64(a.Duration))
	e.String(a.Error)
}

// HTTPGrant answers HTTPAsk Ticket: go ahead (OK), or give up with
// ErrQueueingTimeout (the request waited Config.HTTPQueueTimeout for room
// in the peer's window).
type HTTPGrant struct {
	Peer   state.PeerID
	Ticket uint64
	OK     bool
}

// Kind is KindHTTPGrant.
func (HTTPGrant) Kind() Kind { return KindHTTPGrant }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a HTTPGrant) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Uint(a.Ticket)
	e.Bool(a.OK)
}

func init() {
	register(KindHTTPAsk, "HTTPAsk", true, func(d *codec.Decoder) (a HTTPAsk) {
		d.ArrayLen(2)
		a.Peer, a.Ticket = peerID(d), d.Uint()
		return
	})
	register(KindHTTPCancel, "HTTPCancel", true, func(d *codec.Decoder) (a HTTPCancel) {
		d.ArrayLen(2)
		a.Peer, a.Ticket = peerID(d), d.Uint()
		return
	})
	register(KindHTTPExchanged, "HTTPExchanged", true, func(d *codec.Decoder) (a HTTPExchanged) {
		d.ArrayLen(8)
		a.Peer, a.Inbound, a.Method, a.Path = peerID(d), d.Bool(), str(d), str(d)
		a.Status, a.Bytes, a.Duration, a.Error = int(d.Int()), d.Int(), time.Duration(d.Int()), str(d)
		return
	})
	register(KindHTTPGrant, "HTTPGrant", false, func(d *codec.Decoder) (a HTTPGrant) {
		d.ArrayLen(3)
		a.Peer, a.Ticket, a.OK = peerID(d), d.Uint(), d.Bool()
		return
	})
}
