package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Request/response on request channels. Our request: SendRequest (the
// API) → the service writes it → ResponseReceived, RequestFailed, or a
// timeout at a Tick → RequestDone hands the outcome to the caller. A
// peer's request: RequestReceived → the application's handler →
// SendResponse; or RequestRefused when we are answering too many of its
// requests already. Request IDs are ours for our requests (State.Requests)
// and the peer's for its own.

// SendRequest asks a ready peer for something on a request channel. Its ID
// is the reducer's (State.Requests.NextID after it). Data, Size and Sum are
// the payload as in MessageReceived.
type SendRequest struct {
	Peer    state.PeerID
	Channel state.Channel
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Kind is KindSendRequest.
func (SendRequest) Kind() Kind { return KindSendRequest }

// Len is the payload's length, whether it is held or only its digest.
func (a SendRequest) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes [peer, channel, payload…].
func (a SendRequest) EncodeCBOR(e *codec.Encoder) {
	payloadArray(e, 2, a.Data, a.Size)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	encodePayload(e, a.Data, a.Size, a.Sum)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is longer than limit.
func (a SendRequest) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if len(a.Data) <= limit {
		return nil, false
	}
	a.Data, a.Size, a.Sum, _ = digest(a.Data, limit, sum)
	return a, true
}

// RequestReceived is a peer's request, with the peer's ID for it.
type RequestReceived struct {
	Peer    state.PeerID
	Channel state.Channel
	ID      uint64
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Kind is KindRequestReceived.
func (RequestReceived) Kind() Kind { return KindRequestReceived }

// Len is the payload's length, whether it is held or only its digest.
func (a RequestReceived) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes [peer, channel, id, payload…].
func (a RequestReceived) EncodeCBOR(e *codec.Encoder) {
	payloadArray(e, 3, a.Data, a.Size)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(a.ID)
	encodePayload(e, a.Data, a.Size, a.Sum)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is longer than limit.
func (a RequestReceived) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if len(a.Data) <= limit {
		return nil, false
	}
	a.Data, a.Size, a.Sum, _ = digest(a.Data, limit, sum)
	return a, true
}

// SendResponse answers a peer's request: the application's answer (Status
// RequestOK with Data) or its refusal.
type SendResponse struct {
	Peer    state.PeerID
	Channel state.Channel
	ID      uint64
	Status  state.RequestStatus
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Kind is KindSendResponse.
func (SendResponse) Kind() Kind { return KindSendResponse }

// Len is the payload's length, whether it is held or only its digest.
func (a SendResponse) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes [peer, channel, id, status, payload…].
func (a SendResponse) EncodeCBOR(e *codec.Encoder) {
	payloadArray(e, 4, a.Data, a.Size)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(a.ID)
	e.Uint(uint64(a.Status))
	encodePayload(e, a.Data, a.Size, a.Sum)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is longer than limit.
func (a SendResponse) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if len(a.Data) <= limit {
		return nil, false
	}
	a.Data, a.Size, a.Sum, _ = digest(a.Data, limit, sum)
	return a, true
}

// ResponseReceived is a peer's response to our request ID.
type ResponseReceived struct {
	Peer    state.PeerID
	Channel state.Channel
	ID      uint64
	Status  state.RequestStatus
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Kind is KindResponseReceived.
func (ResponseReceived) Kind() Kind { return KindResponseReceived }

// Len is the payload's length, whether it is held or only its digest.
func (a ResponseReceived) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes [peer, channel, id, status, payload…].
func (a ResponseReceived) EncodeCBOR(e *codec.Encoder) {
	payloadArray(e, 4, a.Data, a.Size)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(a.ID)
	e.Uint(uint64(a.Status))
	encodePayload(e, a.Data, a.Size, a.Sum)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is longer than limit.
func (a ResponseReceived) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if len(a.Data) <= limit {
		return nil, false
	}
	a.Data, a.Size, a.Sum, _ = digest(a.Data, limit, sum)
	return a, true
}

// RequestFailed reports that the service could not write our request ID to
// its peer (the connection closed or the stream failed).
type RequestFailed struct {
	Peer  state.PeerID
	ID    uint64
	Error string
}

// Kind is KindRequestFailed.
func (RequestFailed) Kind() Kind { return KindRequestFailed }

// EncodeCBOR writes [peer, id, error].
func (a RequestFailed) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Uint(a.ID)
	e.String(a.Error)
}

// RequestDone is the decision that our request ID has its outcome: the
// response's status and answer, a timeout, or the peer gone. Its effect
// hands the outcome to whoever made the request.
type RequestDone struct {
	Peer   state.PeerID
	ID     uint64
	Status state.RequestStatus
	Data   []byte
	Size   uint64
	Sum    [32]byte
}

// Kind is KindRequestDone.
func (RequestDone) Kind() Kind { return KindRequestDone }

// EncodeCBOR writes [peer, id, status, payload…].
func (a RequestDone) EncodeCBOR(e *codec.Encoder) {
	payloadArray(e, 3, a.Data, a.Size)
	e.Shared(string(a.Peer))
	e.Uint(a.ID)
	e.Uint(uint64(a.Status))
	encodePayload(e, a.Data, a.Size, a.Sum)
}

// ServeRequest is the decision to hand a peer's request to the
// application's handler for its channel.
type ServeRequest struct {
	Peer    state.PeerID
	Channel state.Channel
	ID      uint64
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Kind is KindServeRequest.
func (ServeRequest) Kind() Kind { return KindServeRequest }

// EncodeCBOR writes [peer, channel, id, payload…].
func (a ServeRequest) EncodeCBOR(e *codec.Encoder) {
	payloadArray(e, 3, a.Data, a.Size)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(a.ID)
	encodePayload(e, a.Data, a.Size, a.Sum)
}

// RequestRefused is the decision to answer a peer's request with a
// refusal without asking the application: it has as many requests open
// with us as it may (busy).
type RequestRefused struct {
	Peer    state.PeerID
	Channel state.Channel
	ID      uint64
	Status  state.RequestStatus
}

// Kind is KindRequestRefused.
func (RequestRefused) Kind() Kind { return KindRequestRefused }

// EncodeCBOR writes [peer, channel, id, status].
func (a RequestRefused) EncodeCBOR(e *codec.Encoder) {
	e.Array(4)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(a.ID)
	e.Uint(uint64(a.Status))
}

// payloadArray starts an action's array: n fields, then the payload as
// one item (its bytes) or two (its size and sum).
func payloadArray(e *codec.Encoder, n int, data []byte, size uint64) {
	if data == nil && size > 0 {
		e.Array(n + 2)
		return
	}
	e.Array(n + 1)
}

// encodePayload writes a payload as payloadArray counted it.
func encodePayload(e *codec.Encoder, data []byte, size uint64, sum [32]byte) {
	if data == nil && size > 0 {
		e.Uint(size)
		e.Bytes(sum[:])
		return
	}
	e.Bytes(data)
}

// decodePayload reads the payload of an action whose array has n items,
// fixed of them before it.
func decodePayload(d *codec.Decoder, n, fixed int) (data []byte, size uint64, sum [32]byte) {
	switch n - fixed {
	case 1:
		data = d.Bytes(MaxData)
	case 2:
		size, sum = payloadSize(d), decodeSum(d)
	default:
		d.Fail("want %d or %d fields, found %d", fixed+1, fixed+2, n)
	}
	return
}

// digest replaces a payload longer than limit by its length and sum.
func digest(data []byte, limit int, sum func([]byte) [32]byte) ([]byte, uint64, [32]byte, bool) {
	if len(data) <= limit {
		return data, 0, [32]byte{}, false
	}
	return nil, uint64(len(data)), sum(data), true
}

func status(d *codec.Decoder) state.RequestStatus {
	return state.RequestStatus(d.UintMax(uint64(state.RequestPeerGone)))
}

func init() {
	register(KindSendRequest, "SendRequest", true, func(d *codec.Decoder) (a SendRequest) {
		n := d.ArrayMax(4)
		a.Peer, a.Channel = peerID(d), channel(d)
		a.Data, a.Size, a.Sum = decodePayload(d, n, 2)
		return
	})
	register(KindRequestReceived, "RequestReceived", true, func(d *codec.Decoder) (a RequestReceived) {
		n := d.ArrayMax(5)
		a.Peer, a.Channel, a.ID = peerID(d), channel(d), d.Uint()
		a.Data, a.Size, a.Sum = decodePayload(d, n, 3)
		return
	})
	register(KindSendResponse, "SendResponse", true, func(d *codec.Decoder) (a SendResponse) {
		n := d.ArrayMax(6)
		a.Peer, a.Channel, a.ID, a.Status = peerID(d), channel(d), d.Uint(), status(d)
		a.Data, a.Size, a.Sum = decodePayload(d, n, 4)
		return
	})
	register(KindResponseReceived, "ResponseReceived", true, func(d *codec.Decoder) (a ResponseReceived) {
		n := d.ArrayMax(6)
		a.Peer, a.Channel, a.ID, a.Status = peerID(d), channel(d), d.Uint(), status(d)
		a.Data, a.Size, a.Sum = decodePayload(d, n, 4)
		return
	})
	register(KindRequestFailed, "RequestFailed", true, func(d *codec.Decoder) (a RequestFailed) {
		d.ArrayLen(3)
		a.Peer, a.ID, a.Error = peerID(d), d.Uint(), str(d)
		return
	})
	register(KindRequestDone, "RequestDone", false, func(d *codec.Decoder) (a RequestDone) {
		n := d.ArrayMax(5)
		a.Peer, a.ID, a.Status = peerID(d), d.Uint(), status(d)
		a.Data, a.Size, a.Sum = decodePayload(d, n, 3)
		return
	})
	register(KindServeRequest, "ServeRequest", false, func(d *codec.Decoder) (a ServeRequest) {
		n := d.ArrayMax(5)
		a.Peer, a.Channel, a.ID = peerID(d), channel(d), d.Uint()
		a.Data, a.Size, a.Sum = decodePayload(d, n, 3)
		return
	})
	register(KindRequestRefused, "RequestRefused", false, func(d *codec.Decoder) (a RequestRefused) {
		d.ArrayLen(4)
		a.Peer, a.Channel, a.ID, a.Status = peerID(d), channel(d), d.Uint(), status(d)
		return
	})
}
