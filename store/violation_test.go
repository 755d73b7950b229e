package store_test

import (
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// A broken invariant is reported once per kind, with the action after which
// the audit found it, instead of only being counted.
func TestFirstViolationOfEachKindIsReported(t *testing.T) {
	cfg, self := fuzzsteps.DefaultConfig(), fuzzsteps.DefaultSelf()
	type report struct {
		id   uint64
		rule string
	}
	var reports []report
	clock := &testClock{t: fuzzsteps.Epoch}
	s := store.New(state.New(cfg, self, 7, fuzzsteps.Epoch), nil, clock, store.Options{
		CheckInvariants: true,
		OnViolation:     func(id uint64, v *state.Violation) { reports = append(reports, report{id, v.Rule}) },
		// A bug stand-in: PeerReady forgets that the handshake completed.
		Intercept: func(st *state.State, _ action.Meta, a action.Action, cmds []service.Command) []service.Command {
			if r, ok := a.(action.PeerReady); ok {
				st.Peers[r.Peer].Handshake.Done = false
			}
			return cmds
		},
	})
	ready := func(p state.PeerID, addr state.Addr) uint64 {
		s.Dispatch(action.IncomingConnection{Peer: p, Addr: addr})
		hello := message.Hello{Version: 2, Network: cfg.Network, UnixTime: fuzzsteps.Epoch / 1e9, Nonce: 99, Channels: message.ChannelInfos(&cfg)}
		s.Dispatch(action.MessageReceived{Peer: p, Channel: state.ChannelControl, Data: message.Marshal(hello)})
		return s.LastID()
	}
	first := ready("p1", "/ip4/10.1.0.1/tcp/4001")
	ready("p2", "/ip4/10.2.0.1/tcp/4001")
	if n, _ := s.Violations(); n != 3 {
		t.Fatalf("%d inputs left a violation, want 3 (p1 stays broken)", n)
	}
	if len(reports) != 1 || reports[0] != (report{first, "ready-without-handshake"}) {
		t.Fatalf("reports %+v; want one, ready-without-handshake after #%d", reports, first)
	}
}
