package reducer

import (
	"slices"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Streams a peer opens to us: the service reports each one and reads
// nothing from it until the state machine has decided. A peer may hold
// Config.MaxInboundStreams at once, and only while its connection is up;
// any other stream is reset.

// enabledStreamOpened is always true: every stream gets a decision, or
// the service would hold it for ever.
func enabledStreamOpened(*state.State, action.StreamOpened) error { return nil }

func reduceStreamOpened(s *state.State, a action.StreamOpened) {
	p, ok := s.Peers[a.Peer]
	if !ok || !p.Status.Connected() || len(p.Streams) >= s.Config.MaxInboundStreams || p.HasStream(a.Stream) {
		s.Counters.StreamsRefused++
		return
	}
	p.Streams = append(p.Streams, a.Stream)
}

func enabledStreamClosed(s *state.State, a action.StreamClosed) error {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return ErrUnknownPeer
	}
	if !p.HasStream(a.Stream) {
		return ErrNotOutstanding
	}
	return nil
}

func reduceStreamClosed(s *state.State, a action.StreamClosed) {
	p := s.Peers[a.Peer]
	p.Streams = slices.DeleteFunc(p.Streams, func(id uint64) bool { return id == a.Stream })
}
