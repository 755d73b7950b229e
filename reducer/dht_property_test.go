package reducer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// stepClock advances by what the test sets before each input.
type stepClock struct{ now int64 }

func (c *stepClock) Now() int64 { return c.now }

// TestDHTAndHTTPRandomInputs drives the DHT and HTTP reducers with
// seeded random inputs — answers in and out of turn, lookups, asks,
// cancels, time jumps — and checks every invariant after each input, the
// bounds on what the state keeps, and that the same inputs give the same
// state hash.
func TestDHTAndHTTPRandomInputs(t *testing.T) {
	run := func(seed uint64) state.Hash {
		cfg := state.DefaultConfig("testnet")
		cfg.DHTMode = state.DHTServer
		cfg.Capabilities = []string{"archival", "relay"}
		cfg.WantCapabilities = []string{"archival", "gossip"}
		cfg.HTTPRateLimit, cfg.HTTPMaxWaiting = 3, 4
		start := int64(1767225600) * int64(time.Second)
		st := state.New(cfg, state.Self{ID: "self", ListenAddrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}, seed, start)
		clock := &stepClock{now: start}
		s := store.New(st, nil, clock, store.Options{})
		rng := state.NewRNG(seed ^ 0xd47)
		caps := []string{"archival", "relay", "gossip", "x"}
		peers := []state.PeerID{"A", "B", "C"}
		// Two ready peers for the HTTP client.
		for _, p := range peers[:2] {
			s.Dispatch(action.IncomingConnection{Peer: p, Addr: state.Addr(fmt.Sprintf("/ip4/10.%d.0.1/tcp/1", p[0]))})
			st.Peers[p].Status, st.Peers[p].Handshake.Done, st.Peers[p].Handshake.Version = state.StatusReady, true, 2
		}
		for i := range 3000 {
			clock.now += int64(rng.Intn(4)) * int64([]time.Duration{0, 100 * time.Millisecond, time.Second, 40 * time.Second}[rng.Intn(4)])
			c := caps[rng.Intn(len(caps))]
			p := peers[rng.Intn(len(peers))]
			var a action.Action
			switch rng.Intn(9) {
			case 0:
				a = action.Tick{}
			case 1:
				e := ""
				if rng.Intn(3) == 0 {
					e = "failed"
				}
				a = action.Advertised{Capability: c, Error: e}
			case 2:
				var found []state.PeerAddr
				for j := range rng.Intn(30) {
					found = append(found, state.PeerAddr{ID: state.PeerID(fmt.Sprintf("P%d", rng.Intn(200))),
						Addrs: []state.Addr{state.Addr(fmt.Sprintf("/ip4/10.%d.%d.1/tcp/1", 20+j, rng.Intn(50)))}})
				}
				a = action.ProvidersFound{Query: uint64(rng.Intn(int(st.DHT.NextQuery) + 2)), Capability: c, Peers: found}
			case 3:
				a = action.FindPeers{Capability: c, Max: rng.Intn(5)}
			case 4, 5:
				a = action.HTTPAsk{Peer: p, Ticket: uint64(rng.Intn(12))}
			case 6:
				a = action.HTTPCancel{Peer: p, Ticket: uint64(rng.Intn(12))}
			case 7:
				a = action.HTTPExchanged{Peer: p, Method: "GET", Path: "/x", Status: 200, Bytes: int64(rng.Intn(100))}
			default:
				a = action.Tick{}
			}
			s.Dispatch(a)
			if err := st.Check(); err != nil {
				t.Fatalf("seed %d, input %d (%s): %v", seed, i, action.Format(a), err)
			}
			if len(st.DHT.Queries) > 256+len(cfg.WantCapabilities) {
				t.Fatalf("%d lookups in flight", len(st.DHT.Queries))
			}
		}
		if st.DHT.Advertisements == 0 || st.DHT.Lookups == 0 || st.HTTP.Exchanges == 0 {
			t.Errorf("seed %d exercised too little: %+v", seed, st.DHT)
		}
		return st.Hash()
	}
	for seed := uint64(1); seed <= 4; seed++ {
		if a, b := run(seed), run(seed); a != b {
			t.Errorf("seed %d: two runs end in %s and %s", seed, a.Short(), b.Short())
		}
	}
}

// TestPeerStoreLoadedKeepsCapabilities: capabilities saved with the
// address book come back with it; a name that is not a capability's is
// dropped.
func TestPeerStoreLoadedKeepsCapabilities(t *testing.T) {
	start := int64(1767225600) * int64(time.Second)
	st := state.New(state.DefaultConfig("testnet"), state.Self{ID: "self"}, 1, start)
	s := store.New(st, nil, &stepClock{now: start}, store.Options{})
	s.Dispatch(action.PeerStoreLoaded{Store: state.PeerStore{Entries: []state.AddrEntry{
		{ID: "A", Addrs: []state.Addr{"/ip4/10.1.0.1/tcp/1"}, Caps: []string{"archival", "Bad Name", "relay"}},
	}}})
	e, ok := st.Discovery.Book["A"]
	if !ok {
		t.Fatal("entry not loaded")
	}
	if got := fmt.Sprint(e.Caps); got != "[archival relay]" {
		t.Errorf("capabilities %s, want [archival relay]", got)
	}
	if err := st.Check(); err != nil {
		t.Error(err)
	}
}
