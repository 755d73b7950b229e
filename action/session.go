package action

import (
	"time"

	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Sessions (Chainweb's P2P session API). The application starts a session
// network (StartSessions); on every Tick and whenever a session ends the
// reducer starts sessions up to the network's target (SessionStart: the
// peer it chose and the timeout it drew). A peer's session stream arrives
// as SessionIncoming and is accepted (SessionStart) or refused
// (SessionRefused). The application's messages go out as SessionSend, the
// peer's come in as SessionReceived, and either end may close its side
// (SessionClose, SessionPeerClosed). A session is stopped by its timeout,
// a failure of its stream or its peer leaving (SessionStop), and is over
// when the application's callback returns (SessionEnded) or, if it does
// not, after a grace (SessionDone either way).

// The session kinds: inputs 70–79, derived 100–109.
const (
	KindStartSessions     Kind = 70
	KindSessionIncoming   Kind = 71
	KindSessionReceived   Kind = 72
	KindSessionSend       Kind = 73
	KindSessionClose      Kind = 74
	KindSessionPeerClosed Kind = 75
	KindSessionEnded      Kind = 76
	KindSessionFailed     Kind = 77

	KindSessionStart   Kind = 100
	KindSessionStop    Kind = 101
	KindSessionDone    Kind = 102
	KindSessionRefused Kind = 103
	KindSessionPruned  Kind = 104
)

// StartSessions starts a session network: the node keeps Target sessions
// of it running.
type StartSessions struct {
	Network        string
	Target         int
	Timeout        time.Duration
	BufferMessages int
	BufferBytes    int
	MaxMessage     int
	// Budget bounds what the peer of each session may send (zero:
	// unlimited).
	Budget state.Budget
}

// Kind is KindStartSessions.
func (StartSessions) Kind() Kind { return KindStartSessions }

// EncodeCBOR writes [network, target, timeout, buffer messages, buffer
// bytes, max message, budget msgs, budget bytes, budget burst].
func (a StartSessions) EncodeCBOR(e *codec.Encoder) {
	e.Array(9)
	e.String(a.Network)
	e.Uint(uint64(a.Target))
	e.Uint(uint64(a.Timeout))
	e.Uint(uint64(a.BufferMessages))
	e.Uint(uint64(a.BufferBytes))
	e.Uint(uint64(a.MaxMessage))
	e.Uint(uint64(a.Budget.Msgs))
	e.Uint(uint64(a.Budget.Bytes))
	e.Uint(uint64(a.Budget.Burst))
}

// SessionIncoming is a peer opening a session stream of a network to us;
// Stream is the service's number for it.
type SessionIncoming struct {
	Peer    state.PeerID
	Network string
	Stream  uint64
}

// Kind is KindSessionIncoming.
func (SessionIncoming) Kind() Kind { return KindSessionIncoming }

// EncodeCBOR writes [peer, network, stream].
func (a SessionIncoming) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.String(a.Network)
	e.Uint(a.Stream)
}

// SessionReceived is a message from the peer of session ID. Data, Size and
// Sum are the payload as in MessageReceived.
type SessionReceived struct {
	ID   uint64
	Data []byte
	Size uint64
	Sum  [32]byte
}

// Kind is KindSessionReceived.
func (SessionReceived) Kind() Kind { return KindSessionReceived }

// Len is the payload's length, whether it is held or only its digest.
func (a SessionReceived) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes [id, payload…].
func (a SessionReceived) EncodeCBOR(e *codec.Encoder) {
	payloadArray(e, 1, a.Data, a.Size)
	e.Uint(a.ID)
	encodePayload(e, a.Data, a.Size, a.Sum)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is longer than limit.
func (a SessionReceived) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if len(a.Data) <= limit {
		return nil, false
	}
	a.Data, a.Size, a.Sum, _ = digest(a.Data, limit, sum)
	return a, true
}

// SessionSend is the application's message to the peer of session ID.
type SessionSend struct {
	ID   uint64
	Data []byte
	Size uint64
	Sum  [32]byte
}

// Kind is KindSessionSend.
func (SessionSend) Kind() Kind { return KindSessionSend }

// Len is the payload's length, whether it is held or only its digest.
func (a SessionSend) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes [id, payload…].
func (a SessionSend) EncodeCBOR(e *codec.Encoder) {
	payloadArray(e, 1, a.Data, a.Size)
	e.Uint(a.ID)
	encodePayload(e, a.Data, a.Size, a.Sum)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is longer than limit.
func (a SessionSend) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if len(a.Data) <= limit {
		return nil, false
	}
	a.Data, a.Size, a.Sum, _ = digest(a.Data, limit, sum)
	return a, true
}

// SessionClose is the application closing its end of session ID: it sends
// nothing more, and the peer's Receive returns ErrClosed once it has read
// what was sent before.
type SessionClose struct {
	ID uint64
}

// Kind is KindSessionClose.
func (SessionClose) Kind() Kind { return KindSessionClose }

// EncodeCBOR writes [id].
func (a SessionClose) EncodeCBOR(e *codec.Encoder) { e.Array(1); e.Uint(a.ID) }

// SessionPeerClosed is the peer closing its end of session ID.
type SessionPeerClosed struct {
	ID uint64
}

// Kind is KindSessionPeerClosed.
func (SessionPeerClosed) Kind() Kind { return KindSessionPeerClosed }

// EncodeCBOR writes [id].
func (a SessionPeerClosed) EncodeCBOR(e *codec.Encoder) { e.Array(1); e.Uint(a.ID) }

// SessionEnded is the application's callback of session ID returning:
// Outcome is success (nil), failure (an error, in Error) or panic, as the
// node's runner saw it.
type SessionEnded struct {
	ID      uint64
	Outcome state.SessionOutcome
	Error   string
}

// Kind is KindSessionEnded.
func (SessionEnded) Kind() Kind { return KindSessionEnded }

// EncodeCBOR writes [id, outcome, error].
func (a SessionEnded) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Uint(a.ID)
	e.Uint(uint64(a.Outcome))
	e.String(a.Error)
}

// SessionFailed reports that session ID cannot go on: its stream could
// not be opened or failed (peer gone), the peer does not run the network
// (unsupported), or a receive buffer overflowed — ours (reported by the
// node's runner) or the peer's (it said so before resetting the stream).
type SessionFailed struct {
	ID      uint64
	Outcome state.SessionOutcome
	Error   string
}

// Kind is KindSessionFailed.
func (SessionFailed) Kind() Kind { return KindSessionFailed }

// EncodeCBOR writes [id, outcome, error].
func (a SessionFailed) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Uint(a.ID)
	e.Uint(uint64(a.Outcome))
	e.String(a.Error)
}

// SessionStart is the decision to run session ID of a network with a
// peer for Timeout: one we start (the peer the reducer chose), or one
// the peer opened on inbound stream Stream.
type SessionStart struct {
	ID      uint64
	Network int
	Peer    state.PeerID
	Timeout time.Duration
	Inbound bool
	Stream  uint64
}

// Kind is KindSessionStart.
func (SessionStart) Kind() Kind { return KindSessionStart }

// EncodeCBOR writes [id, network, peer, timeout, inbound, stream].
func (a SessionStart) EncodeCBOR(e *codec.Encoder) {
	e.Array(6)
	e.Uint(a.ID)
	e.Uint(uint64(a.Network))
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Timeout))
	e.Bool(a.Inbound)
	e.Uint(a.Stream)
}

// SessionStop is the decision to end session ID's context: Outcome says
// why (timeout, overflow, peer gone, unsupported).
type SessionStop struct {
	ID      uint64
	Outcome state.SessionOutcome
}

// Kind is KindSessionStop.
func (SessionStop) Kind() Kind { return KindSessionStop }

// EncodeCBOR writes [id, outcome].
func (a SessionStop) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Uint(a.ID)
	e.Uint(uint64(a.Outcome))
}

// SessionDone is the decision that session ID is over, with the outcome
// that counts for its peer.
type SessionDone struct {
	ID      uint64
	Outcome state.SessionOutcome
}

// Kind is KindSessionDone.
func (SessionDone) Kind() Kind { return KindSessionDone }

// EncodeCBOR writes [id, outcome].
func (a SessionDone) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Uint(a.ID)
	e.Uint(uint64(a.Outcome))
}

// SessionRefused is the decision to refuse a peer's session stream:
// Outcome is what the peer is told (unsupported, or refused for now).
type SessionRefused struct {
	Peer    state.PeerID
	Network string
	Stream  uint64
	Outcome state.SessionOutcome
	Reason  string
}

// Kind is KindSessionRefused.
func (SessionRefused) Kind() Kind { return KindSessionRefused }

// EncodeCBOR writes [peer, network, stream, outcome, reason].
func (a SessionRefused) EncodeCBOR(e *codec.Encoder) {
	e.Array(5)
	e.Shared(string(a.Peer))
	e.String(a.Network)
	e.Uint(a.Stream)
	e.Uint(uint64(a.Outcome))
	e.String(a.Reason)
}

// SessionPruned is the decision to drop a peer whose sessions keep
// failing from the address book.
type SessionPruned struct {
	Peer state.PeerID
}

// Kind is KindSessionPruned.
func (SessionPruned) Kind() Kind { return KindSessionPruned }

// EncodeCBOR writes [peer].
func (a SessionPruned) EncodeCBOR(e *codec.Encoder) { e.Array(1); e.Shared(string(a.Peer)) }

func outcome(d *codec.Decoder) state.SessionOutcome {
	return state.SessionOutcome(d.UintMax(uint64(state.MaxSessionOutcome)))
}

func count(d *codec.Decoder) int { return int(d.UintMax(1 << 40)) }

func duration(d *codec.Decoder) time.Duration { return time.Duration(d.UintMax(1 << 62)) }

func init() {
	register(KindStartSessions, "StartSessions", true, func(d *codec.Decoder) (a StartSessions) {
		d.ArrayLen(9)
		a.Network, a.Target, a.Timeout = str(d), count(d), duration(d)
		a.BufferMessages, a.BufferBytes, a.MaxMessage = count(d), count(d), count(d)
		a.Budget = state.Budget{Msgs: count(d), Bytes: count(d), Burst: duration(d)}
		return
	})
	register(KindSessionIncoming, "SessionIncoming", true, func(d *codec.Decoder) (a SessionIncoming) {
		d.ArrayLen(3)
		a.Peer, a.Network, a.Stream = peerID(d), str(d), d.Uint()
		return
	})
	register(KindSessionReceived, "SessionReceived", true, func(d *codec.Decoder) (a SessionReceived) {
		n := d.ArrayMax(3)
		a.ID = d.Uint()
		a.Data, a.Size, a.Sum = decodePayload(d, n, 1)
		return
	})
	register(KindSessionSend, "SessionSend", true, func(d *codec.Decoder) (a SessionSend) {
		n := d.ArrayMax(3)
		a.ID = d.Uint()
		a.Data, a.Size, a.Sum = decodePayload(d, n, 1)
		return
	})
	register(KindSessionClose, "SessionClose", true, func(d *codec.Decoder) (a SessionClose) {
		d.ArrayLen(1)
		a.ID = d.Uint()
		return
	})
	register(KindSessionPeerClosed, "SessionPeerClosed", true, func(d *codec.Decoder) (a SessionPeerClosed) {
		d.ArrayLen(1)
		a.ID = d.Uint()
		return
	})
	register(KindSessionEnded, "SessionEnded", true, func(d *codec.Decoder) (a SessionEnded) {
		d.ArrayLen(3)
		a.ID, a.Outcome, a.Error = d.Uint(), outcome(d), str(d)
		return
	})
	register(KindSessionFailed, "SessionFailed", true, func(d *codec.Decoder) (a SessionFailed) {
		d.ArrayLen(3)
		a.ID, a.Outcome, a.Error = d.Uint(), outcome(d), str(d)
		return
	})
	register(KindSessionStart, "SessionStart", false, func(d *codec.Decoder) (a SessionStart) {
		d.ArrayLen(6)
		a.ID, a.Network, a.Peer, a.Timeout = d.Uint(), int(d.UintMax(state.MaxSessionNetworks)), peerID(d), duration(d)
		a.Inbound, a.Stream = d.Bool(), d.Uint()
		return
	})
	register(KindSessionStop, "SessionStop", false, func(d *codec.Decoder) (a SessionStop) {
		d.ArrayLen(2)
		a.ID, a.Outcome = d.Uint(), outcome(d)
		return
	})
	register(KindSessionDone, "SessionDone", false, func(d *codec.Decoder) (a SessionDone) {
		d.ArrayLen(2)
		a.ID, a.Outcome = d.Uint(), outcome(d)
		return
	})
	register(KindSessionRefused, "SessionRefused", false, func(d *codec.Decoder) (a SessionRefused) {
		d.ArrayLen(5)
		a.Peer, a.Network, a.Stream, a.Outcome, a.Reason = peerID(d), str(d), d.Uint(), outcome(d), str(d)
		return
	})
	register(KindSessionPruned, "SessionPruned", false, func(d *codec.Decoder) (a SessionPruned) {
		d.ArrayLen(1)
		a.Peer = peerID(d)
		return
	})
}
