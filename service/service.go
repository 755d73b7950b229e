// Package service is the boundary between the state machine and the world.
//
// Effects produce Commands — dial, close, send, publish, hand a message to
// the application, save the peer store, accept or refuse a stream — as
// data. The store records and returns them, and a Service carries them out.
// Commands are fire-and-forget and never return a value a reducer could
// use; every outcome comes back later as an input action (Connected,
// ConnectionFailed, Disconnected, Sent, SendFailed, Published,
// PublishFailed, MessageReceived, …). A replay recomputes the commands and
// checks them against the log without carrying them out.
//
// The service holds I/O objects and no policy: timeouts, caps, retries and
// verdicts are the reducers', with their numbers in state.Config. The
// service reports facts (a write has not progressed for the configured
// time, a stream was opened) and carries out what it is told.
//
// Implementations: service/libp2p (production) and service/simnet (a
// seeded in-memory network for tests and simulations).
package service

import (
	"strings"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Service carries out the state machine's commands (see Command and
// Execute). Methods are called from the store's goroutine and must not
// block on the network.
type Service interface {
	Dial(peer state.PeerID, addrs []state.Addr)
	Close(peer state.PeerID)
	// Send writes data to peer on our channel ch, whose number on the
	// wire (the peer's own for it) is wire.
	Send(peer state.PeerID, ch, wire state.Channel, data []byte)
	Publish(ch state.Channel, data []byte)
	Deliver(peer state.PeerID, ch state.Channel, data []byte)
	SavePeerStore(ps state.PeerStore)
	AcceptStream(peer state.PeerID, stream uint64)
	ResetStream(peer state.PeerID, stream uint64)
	Verdict(msg uint64, v state.Verdict)
	Validate(c Validate)
	DeliverHeld(msg uint64)
	Throttle(peer state.PeerID, on bool)
	// Request, Respond, Serve and Complete carry out request/response
	// (see their commands).
	Request(c Request)
	Respond(c Respond)
	Serve(c Serve)
	Complete(c Complete)
	// OpenSession, SessionWrite, SessionDeliver and EndSession carry out
	// sessions (see their commands).
	OpenSession(c OpenSession)
	SessionWrite(c SessionWrite)
	SessionDeliver(c SessionDeliver)
	EndSession(c EndSession)
}

// Sink receives the input actions a service produces.
type Sink func(action.Action)

// ErrorText turns an error from the outside world into the text an event
// carries: one line, valid UTF-8, at most 512 bytes.
func ErrorText(err error) string {
	if err == nil {
		return ""
	}
	s := strings.ToValidUTF8(err.Error(), "?")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 512 {
		s = strings.ToValidUTF8(s[:512], "") + "…"
	}
	return s
}
