// Package service is the boundary between the state machine and the world.
//
// Effects call a Service to act: dial, close, send, publish, hand a message
// to the application, save the peer store. Calls are fire-and-forget and
// never return a value a reducer could use; every outcome comes back later
// as an input action (Connected, ConnectionFailed, Disconnected, Sent,
// Published, MessageReceived, …). The service holds I/O objects and no
// policy: the state decides, the service does.
//
// Implementations: service/libp2p (production), service/simnet (a seeded
// in-memory network for tests and simulations), and Noop (replay).
package service

import (
	"strings"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Service carries out the state machine's commands. Methods are called from
// the store's goroutine and must not block on the network.
type Service interface {
	// Dial connects to a peer. Outcome: Connected or ConnectionFailed
	// (or, if Close comes first, only Disconnected).
	Dial(peer state.PeerID, addrs []state.Addr)
	// Close closes every connection to a peer, after writing whatever was
	// sent to it before. Outcome: exactly one Disconnected, even if there
	// was no connection.
	Close(peer state.PeerID)
	// Send writes one message to a peer on a channel. On data channels the
	// outcome is Sent (batched); control messages report nothing. Send
	// never opens a connection.
	Send(peer state.PeerID, ch state.Channel, data []byte)
	// Publish broadcasts a message on a broadcast channel. Outcome:
	// Published (batched).
	Publish(ch state.Channel, data []byte)
	// Deliver hands a received message to the application.
	Deliver(peer state.PeerID, ch state.Channel, data []byte)
	// SavePeerStore persists the address book and bans.
	SavePeerStore(ps state.PeerStore)
}

// Sink receives the input actions a service produces.
type Sink func(action.Action)

// Noop is the service of a replay: commands go nowhere, since the log
// already holds every outcome.
type Noop struct{}

// Dial does nothing.
func (Noop) Dial(state.PeerID, []state.Addr) {}

// Close does nothing.
func (Noop) Close(state.PeerID) {}

// Send does nothing.
func (Noop) Send(state.PeerID, state.Channel, []byte) {}

// Publish does nothing.
func (Noop) Publish(state.Channel, []byte) {}

// Deliver does nothing.
func (Noop) Deliver(state.PeerID, state.Channel, []byte) {}

// SavePeerStore does nothing.
func (Noop) SavePeerStore(state.PeerStore) {}

var _ Service = Noop{}

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
