package store_test

import (
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// testClock is a clock the test sets.
type testClock struct{ t int64 }

func (c *testClock) Now() int64 { return c.t }

// hashEveryAction records the state hash before every action (that is,
// after the one before it), and the digest of every command.
type hashEveryAction struct {
	st     func() *state.State
	hashes []state.Hash
	kinds  []action.Kind
}

func (h *hashEveryAction) Input(m action.Meta, a action.Action) {
	h.hashes, h.kinds = append(h.hashes, h.st().Hash()), append(h.kinds, a.Kind())
}
func (h *hashEveryAction) Derived(m action.Meta, a action.Action, _ bool) {
	h.hashes, h.kinds = append(h.hashes, h.st().Hash()), append(h.kinds, a.Kind())
}
func (h *hashEveryAction) Commands(_ action.Meta, _ action.Action, cmds []service.Command) {
	var g service.Digester
	for _, c := range cmds {
		d := g.Digest(c)
		h.hashes = append(h.hashes, state.Hash(append(d.Sum[:], make([]byte, 24)...)))
		h.kinds = append(h.kinds, 0)
	}
}
func (h *hashEveryAction) Checkpoint(uint64, state.Hash, []state.SectionHash) {}

// TestSameInputsSameHashes runs the same input sequences twice on fresh
// stores and compares the state hash after every single action, derived
// ones included.
func TestSameInputsSameHashes(t *testing.T) {
	total := 0
	for n, seed := range fuzzsteps.Seeds() {
		var runs [2]*hashEveryAction
		for r := range runs {
			cfg, self := fuzzsteps.DefaultConfig(), fuzzsteps.DefaultSelf()
			clock := &testClock{t: fuzzsteps.Epoch}
			obs := &hashEveryAction{}
			s := store.New(state.New(cfg, self, 7, fuzzsteps.Epoch), nil, clock, store.Options{Observer: obs})
			obs.st = s.State
			g := fuzzsteps.NewGenerator(seed)
			for i := 0; i < 400 && !g.Done(); i++ {
				step, a := g.Next(s.State())
				clock.t += int64(step)
				s.Dispatch(a)
			}
			obs.hashes = append(obs.hashes, s.State().Hash())
			runs[r] = obs
		}
		a, b := runs[0], runs[1]
		if len(a.hashes) != len(b.hashes) {
			t.Fatalf("seed %d: %d actions in the first run, %d in the second", n, len(a.hashes), len(b.hashes))
		}
		for i := range a.hashes {
			if a.hashes[i] != b.hashes[i] || a.kinds[min(i, len(a.kinds)-1)] != b.kinds[min(i, len(b.kinds)-1)] {
				t.Fatalf("seed %d: runs differ before action %d", n, i+1)
			}
		}
		total += len(a.hashes)
	}
	if total < 800 {
		t.Errorf("only %d actions compared; the seeds no longer exercise much", total)
	}
}

// TestDisabledActionsAreCountedNoOps feeds actions that make no sense in
// the initial state: each must be refused with a reason, counted, and leave
// everything else untouched.
func TestDisabledActionsAreCountedNoOps(t *testing.T) {
	cfg, self := fuzzsteps.DefaultConfig(), fuzzsteps.DefaultSelf()
	s := store.New(state.New(cfg, self, 7, fuzzsteps.Epoch), nil, &testClock{t: fuzzsteps.Epoch}, store.Options{CheckInvariants: true})
	nonsense := []action.Action{
		action.Connected{Peer: "stranger"},
		action.ConnectionFailed{Peer: "stranger"},
		action.Disconnected{Peer: "stranger"},
		action.Disconnected{Peer: "stranger"},
		action.MessageReceived{Peer: "stranger", Channel: channel.Block, Data: []byte{1}},
		action.MessageReceived{Peer: "stranger", Channel: state.ChannelControl, Data: []byte{0xff}},
		action.SendMessage{Peer: "stranger", Channel: channel.Sync, Data: []byte{1}},
		action.Sent{Peer: "stranger", Channel: channel.Sync, Count: 1},
		action.Published{Channel: channel.Block, Count: 1},
		action.Disconnect{Peer: "stranger"},
		action.Unban{Target: "nobody"},
		action.Connect{Peer: "self", Addrs: []state.Addr{"/ip4/10.9.9.9/tcp/1"}},
		action.Connect{Peer: "bad id", Addrs: []state.Addr{"/ip4/10.9.9.9/tcp/1"}},
		action.Connect{Peer: "x", Addrs: []state.Addr{"not a multiaddr"}},
		action.IncomingConnection{Peer: "self", Addr: "/ip4/10.9.9.9/tcp/1"},
		action.BroadcastMessage{Channel: state.Channel(99), Data: []byte{1}},
	}
	before := s.State().Clone()
	for _, a := range nonsense {
		if _, err := s.Dispatch(a); err == nil {
			t.Errorf("%s was enabled in an empty state", action.Format(a))
		}
	}
	after := s.State()
	var dropped uint64
	for _, n := range after.Counters.Dropped {
		dropped += n
	}
	if dropped != uint64(len(nonsense)) || after.Counters.Actions != uint64(len(nonsense)) {
		t.Errorf("dropped %d and counted %d actions, want %d each", dropped, after.Counters.Actions, len(nonsense))
	}
	after.Counters, before.Counters = state.Counters{}, state.Counters{}
	if h1, h2 := before.Hash(), after.Hash(); h1 != h2 {
		t.Errorf("refused actions changed more than the counters")
	}
	if n, err := s.Violations(); n > 0 {
		t.Errorf("invariants: %v", err)
	}
}
