package state

// Requests are this node's requests on request channels that wait for a
// response. Each has an ID unique on this node; a peer's response names
// it. The requests peers made to us are in their Peer entries (Serving).
type Requests struct {
	// NextID is the ID of the last request made (0: none yet).
	NextID uint64
	// Out maps a request's ID to it.
	Out map[uint64]*OutRequest
}

// OutRequest is one of our requests waiting for its response.
type OutRequest struct {
	Peer    PeerID
	Channel Channel
	// Deadline is when it times out (Config.RequestTimeout after it was
	// made).
	Deadline int64
}

// InRequest is a peer's request the application is answering.
type InRequest struct {
	Channel Channel
	// Deadline is when we stop waiting for the application's answer:
	// half of Config.RequestTimeout after the request came, so that an
	// answer sent by then reaches the peer before its own deadline.
	Deadline int64
}

// RequestStatus is how a request ended. OK, Refused, Busy and TooLarge
// travel in responses; Timeout and PeerGone are decided locally.
type RequestStatus uint8

// Request statuses. The values of the first four are part of the wire
// protocol.
const (
	// RequestOK: the response carries the answer.
	RequestOK RequestStatus = iota
	// RequestRefused: the peer has no handler for the channel, or its
	// handler declined.
	RequestRefused
	// RequestBusy: the peer is answering as many of our requests as it
	// allows (Config.MaxRequestsPerPeer).
	RequestBusy
	// RequestTooLarge: the answer would exceed the channel's MaxSize.
	RequestTooLarge
	// RequestTimeout: no response within Config.RequestTimeout.
	RequestTimeout
	// RequestPeerGone: the peer disconnected, or the request could not
	// be written to it.
	RequestPeerGone
)

// MaxWireStatus is the highest status a response may carry.
const MaxWireStatus = RequestTooLarge

var requestStatusNames = []string{"ok", "refused", "busy", "too large", "timeout", "peer gone"}

// String names the status.
func (r RequestStatus) String() string { return enumText(requestStatusNames, int(r), "status") }

// MarshalText names the status.
func (r RequestStatus) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a status name.
func (r *RequestStatus) UnmarshalText(b []byte) error {
	v, err := enumParse(requestStatusNames, b, "request status")
	*r = RequestStatus(v)
	return err
}
