package store_test

import (
	"reflect"
	"testing"

	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// The store checks only State.CheckPeer after an input that reducer.PeerLocal
// names and that derived nothing; that is sound only if such an input
// leaves every other peer entry, and the request table, as it was. The
// generator's sequences (the fuzzers' seeds, 2,000 inputs of varied kinds)
// check it input by input.
func TestPeerLocalInputsChangeOnlyTheirPeer(t *testing.T) {
	local := 0
	for n, seed := range fuzzsteps.Seeds() {
		cfg, self := fuzzsteps.DefaultConfig(), fuzzsteps.DefaultSelf()
		clock := &testClock{t: fuzzsteps.Epoch}
		s := store.New(state.New(cfg, self, 7, fuzzsteps.Epoch), nil, clock, store.Options{})
		g := fuzzsteps.NewGenerator(seed)
		for i := 0; i < 400 && !g.Done(); i++ {
			step, a := g.Next(s.State())
			clock.t += int64(step)
			peer, ok := reducer.PeerLocal(a)
			if !ok {
				s.Dispatch(a)
				continue
			}
			before := s.State().Clone()
			m, _ := s.Dispatch(a)
			after := s.State()
			if s.LastID() != m.ID {
				continue // derived actions: the store checks every peer
			}
			local++
			for id, p := range after.Peers {
				if id != peer && !reflect.DeepEqual(p, before.Peers[id]) {
					t.Fatalf("seed %d: %s changed peer %s, not only %q", n, a.Kind(), id, peer)
				}
			}
			if len(after.Peers) != len(before.Peers) || !reflect.DeepEqual(after.Requests, before.Requests) {
				t.Fatalf("seed %d: %s changed the peer set or the requests", n, a.Kind())
			}
			if (after.CheckPeer(peer) == nil) != (after.CheckPeers() == nil) {
				t.Fatalf("seed %d: after %s CheckPeer says %v, CheckPeers %v", n, a.Kind(), after.CheckPeer(peer), after.CheckPeers())
			}
		}
	}
	if local < 100 {
		t.Errorf("only %d peer-local inputs seen; the seeds no longer exercise them", local)
	}
	t.Logf("%d peer-local inputs checked", local)
}
