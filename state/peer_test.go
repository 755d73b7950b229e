package state_test

import (
	"slices"
	"testing"

	"github.com/p2pcore/p2pcore/state"
)

// A peer's per-channel lists are its own and sized to the channels,
// whether NewPeer allocates them with the peer (few channels) or apart:
// growing one never writes into another, and a clone shares none.
func TestNewPeerListsAreApart(t *testing.T) {
	for _, n := range []int{1, 5, 6, 12} {
		cfg := state.DefaultConfig("t")
		for len(cfg.Channels) < n {
			cfg.Channels = append(cfg.Channels, cfg.Channels[len(cfg.Channels)-1])
		}
		cfg.Channels = cfg.Channels[:n]
		p := state.NewPeer(&cfg, state.Peer{ID: "p"})
		if len(p.Received) != n || len(p.Sent) != n || len(p.Refused) != n || len(p.InFlight) != n || len(p.Budgets) != n {
			t.Fatalf("%d channels: lists of %d, %d, %d, %d, %d", n, len(p.Received), len(p.Sent), len(p.Refused), len(p.InFlight), len(p.Budgets))
		}
		for i := range n {
			p.Received[i], p.Sent[i], p.Refused[i], p.InFlight[i] = 1, 2, 3, 4
			p.Budgets[i] = state.Bucket{MsgsAt: 5, BytesAt: 6}
		}
		_ = append(p.Received, 9)
		_ = append(p.Sent, 9)
		_ = append(p.InFlight, 9)
		if slices.Contains(p.Sent, 9) || slices.Contains(p.Refused, 9) || p.Sent[0] != 2 || p.Refused[0] != 3 {
			t.Fatalf("%d channels: growing one list wrote into the next", n)
		}
		a := state.NewAuthor(&cfg, 7)
		if len(a.Budgets) != n || a.LastSeen != 7 {
			t.Fatalf("%d channels: author with %d budgets, last seen %d", n, len(a.Budgets), a.LastSeen)
		}
		_ = append(a.Budgets, state.Bucket{MsgsAt: 9})
		st := state.New(cfg, state.Self{ID: "self"}, 1, 0)
		st.Peers["p"] = p
		st.Gossip.Authors["a"] = a
		c := st.Clone()
		c.Peers["p"].Received[0], c.Gossip.Authors["a"].Budgets[0].MsgsAt = 100, 100
		if p.Received[0] != 1 || a.Budgets[0].MsgsAt != 0 {
			t.Fatalf("%d channels: a clone shares a peer's or an author's lists", n)
		}
	}
}
