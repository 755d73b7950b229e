package reducer

import (
	"errors"
	"fmt"

	"github.com/p2pcore/p2pcore/state"
)

// Why an action is not enabled. The API returns these to its callers, so
// they are exported and matched with errors.Is.
var (
	ErrUnknownAction    = errors.New("unknown action")
	ErrInvalid          = errors.New("invalid argument")
	ErrUnknownPeer      = errors.New("unknown peer")
	ErrNotReady         = errors.New("peer is not ready")
	ErrWrongStatus      = errors.New("peer is in the wrong status")
	ErrSelf             = errors.New("that is this node")
	ErrAlreadyConnected = errors.New("already connected or connecting")
	ErrBanned           = errors.New("banned")
	ErrOutboundFull     = errors.New("outbound target reached")
	ErrGroupUsed        = errors.New("an outbound peer already uses that address group")
	ErrUnknownChannel   = errors.New("unknown channel")
	ErrNotBroadcast     = errors.New("not a broadcast channel")
	ErrWrongChannel     = errors.New("wrong channel for this message")
	ErrTooLarge         = errors.New("message too large for its channel")
	ErrQueueFull        = errors.New("channel queue full")
	ErrNotShared        = errors.New("the peer does not have this channel")
	ErrNotRequest       = errors.New("not a request channel")
	ErrBusy             = errors.New("too many requests outstanding with the peer")
	ErrNotOutstanding   = errors.New("nothing outstanding to complete")
	ErrSimultaneousOpen = errors.New("simultaneous open: the peer yields to our Hello")
	ErrStopping         = errors.New("the node is shutting down")
)

// Violation is a not-enabled control message that breaks the protocol. The
// control-message router scores the sender for it; other refusals (a race,
// a message after we began closing) are not the peer's fault.
type Violation struct {
	Offence state.Offence
	What    string
}

// Error describes the failure.
func (v *Violation) Error() string { return fmt.Sprintf("%s: %s", v.Offence, v.What) }

func violation(what string) error {
	return &Violation{Offence: state.OffenceViolation, What: what}
}

func unsolicited(what string) error {
	return &Violation{Offence: state.OffenceUnsolicited, What: what}
}

// peerIn returns the peer if it exists and its status is one of want.
func peerIn(s *state.State, id state.PeerID, want ...state.Status) (*state.Peer, error) {
	p, ok := s.Peers[id]
	if !ok {
		return nil, ErrUnknownPeer
	}
	for _, w := range want {
		if p.Status == w {
			return p, nil
		}
	}
	return p, fmt.Errorf("%w: %s", ErrWrongStatus, p.Status)
}

// readyPeer is the enabling condition of actions that need a ready peer.
func readyPeer(s *state.State, id state.PeerID) error {
	p, ok := s.Peers[id]
	if !ok {
		return ErrUnknownPeer
	}
	if p.Status != state.StatusReady {
		return ErrNotReady
	}
	return nil
}
