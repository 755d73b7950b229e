package store_test

import (
	"reflect"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// batch collects the actions of one input: the input and all it caused.
type batch struct{ actions []action.Action }

func (b *batch) Input(_ action.Meta, a action.Action) { b.actions = append(b.actions[:0], a) }
func (b *batch) Derived(_ action.Meta, a action.Action, _ bool) {
	b.actions = append(b.actions, a)
}
func (b *batch) Commands(action.Meta, action.Action, []service.Command) {}
func (b *batch) Checkpoint(uint64, state.Hash, []state.SectionHash)     {}

// The store checks only State.CheckPeer after an input whose actions are
// all local to one peer (reducer.Locality); that is sound only if such an
// input leaves every other peer entry, and the request and session tables,
// as they were. The generator's sequences (the fuzzers' seeds, about 9,000
// inputs of every kind) check it input by input.
func TestPeerLocalInputsChangeOnlyTheirPeer(t *testing.T) {
	local, derived := 0, 0
	for n, seed := range fuzzsteps.Seeds() {
		cfg, self := fuzzsteps.DefaultConfig(), fuzzsteps.DefaultSelf()
		clock := &testClock{t: fuzzsteps.Epoch}
		obs := &batch{}
		s := store.New(state.New(cfg, self, 7, fuzzsteps.Epoch), nil, clock, store.Options{Observer: obs})
		g := fuzzsteps.NewGenerator(seed)
		for i := 0; i < 400 && !g.Done(); i++ {
			step, a := g.Next(s.State())
			clock.t += int64(step)
			before := s.State().Clone()
			s.Dispatch(a)
			var l reducer.Locality
			for _, x := range obs.actions {
				l.Add(x)
			}
			peer, ok := l.Peer()
			if !ok {
				continue
			}
			local++
			if len(obs.actions) > 1 {
				derived++
			}
			after := s.State()
			for id, p := range after.Peers {
				if id != peer && !reflect.DeepEqual(p, before.Peers[id]) {
					t.Fatalf("seed %d: %v changed peer %s, not only %q", n, obs.actions, id, peer)
				}
			}
			if len(after.Peers) != len(before.Peers) || !reflect.DeepEqual(after.Requests, before.Requests) ||
				!reflect.DeepEqual(after.Sessions, before.Sessions) {
				t.Fatalf("seed %d: %v changed the peer set, the requests or the sessions", n, obs.actions)
			}
			if (after.CheckPeer(peer) == nil) != (after.CheckPeers() == nil) {
				t.Fatalf("seed %d: after %v CheckPeer says %v, CheckPeers %v", n, obs.actions, after.CheckPeer(peer), after.CheckPeers())
			}
		}
	}
	if local < 100 || derived < 10 {
		t.Errorf("only %d peer-local inputs seen (%d with derived actions); the seeds no longer exercise them", local, derived)
	}
	t.Logf("%d peer-local inputs checked, %d of them with derived actions", local, derived)
}

// The control messages of a live network, each checked the same way: a
// ping, an address request and its answer, an announcement (relayed to
// other peers only through the effect), an answer to our own request.
func TestPeerLocalControlMessages(t *testing.T) {
	ready, clock, _, ids := readyNode(t, 6, "")
	obs := &batch{}
	s := store.New(ready.State(), nil, clock, store.Options{Observer: obs})
	control := func(from state.PeerID, m message.Message) action.Action {
		return action.MessageReceived{Peer: from, Channel: state.ChannelControl, Data: message.Marshal(m)}
	}
	checked := 0
	check := func(a action.Action) {
		t.Helper()
		clock.t += 1_000_000
		before := s.State().Clone()
		s.Dispatch(a)
		var l reducer.Locality
		for _, x := range obs.actions {
			l.Add(x)
		}
		peer, ok := l.Peer()
		if !ok {
			return
		}
		checked++
		for id, p := range s.State().Peers {
			if id != peer && !reflect.DeepEqual(p, before.Peers[id]) {
				t.Fatalf("%v changed peer %s, not only %q", obs.actions, id, peer)
			}
		}
	}
	check(control(ids[0], message.PingRequest{Nonce: 5}))
	check(control(ids[1], message.AddrListRequest{}))
	check(control(ids[2], message.AddrAnnounce{Peers: []state.PeerAddr{{ID: ids[2], Addrs: []state.Addr{"/ip4/10.9.0.1/tcp/4001"}}}}))
	check(action.Tick{}) // nobody to dial: asks one peer for addresses
	for _, id := range ids {
		if p := s.State().Peers[id]; p.AddrAsked && !p.AddrReceived {
			check(control(id, message.AddrListResponse{Peers: []state.PeerAddr{{ID: ids[3], Addrs: []state.Addr{"/ip4/10.3.3.1/tcp/4001"}}}}))
		}
	}
	if checked < 4 {
		t.Errorf("only %d control inputs were peer-local", checked)
	}
}
