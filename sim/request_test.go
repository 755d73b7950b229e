package sim_test

import (
	"errors"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/sim"
	"github.com/p2pcore/p2pcore/state"
)

// Request/response in the simulated network: node 2 asks the bootnode
// (node 0) and node 1 on a request channel; the answers and every way a
// request fails — refused, too large either way, busy on our side,
// timeout (node 0 frozen), peer gone (node 1 crashed) — end as they do
// over go-libp2p, and every node's log replays.
func TestRequestsInSimulation(t *testing.T) {
	dir := t.TempDir()
	fetch := state.ChannelConfig{Name: "fetch", Kind: state.Request, Version: 1, MaxSize: 64, QueueLimit: 8}
	s := newSim(t, sim.Config{Nodes: 3, Seed: 77, Duration: 40 * time.Second, RecordDir: dir,
		TxRate: -1, BlockInterval: -1,
		Tweak: func(_ int, c *state.Config) {
			c.Channels = append(c.Channels, fetch)
			c.RequestTimeout, c.MaxRequestsPerPeer = 2*time.Second, 1
		},
		Faults: []sim.Fault{
			{At: 20 * time.Second, Kind: sim.FaultCrash, Nodes: []int{1}},
			{At: 30 * time.Second, Kind: sim.FaultSilence, Nodes: []int{0}},
		}})
	ch := state.Channel(len(state.DefaultConfig("x").Channels)) // fetch, after the preset
	for _, i := range []int{0, 1} {
		s.Nodes[i].EP.Handler = func(_ state.PeerID, _ state.Channel, req []byte) ([]byte, state.RequestStatus) {
			switch string(req) {
			case "fail":
				return nil, state.RequestRefused
			case "big":
				return make([]byte, 65), state.RequestOK
			}
			return append([]byte("re: "), req...), state.RequestOK
		}
	}
	asker := s.Nodes[2]
	outcomes := map[uint64]service.Complete{}
	asker.EP.OnComplete = func(c service.Complete) { outcomes[c.ID] = c }
	ids := map[string]uint64{}
	ask := func(at time.Duration, name string, to int, req string, wantErr error) {
		s.Net.At(sim.Epoch+int64(at), func() {
			_, err := asker.Store.Dispatch(action.SendRequest{Peer: sim.NodeID(to), Channel: ch, Data: []byte(req)})
			if !errors.Is(err, wantErr) {
				t.Errorf("%s: dispatch: %v, want %v", name, err, wantErr)
			}
			if err == nil {
				ids[name] = asker.Store.State().Requests.NextID
			}
		})
	}
	ask(15*time.Second, "echo", 0, "hello", nil)
	ask(15*time.Second+time.Millisecond, "busy", 0, "again", reducer.ErrBusy) // one outstanding at a time
	ask(16*time.Second, "refused", 0, "fail", nil)
	ask(17*time.Second, "large answer", 0, "big", nil)
	ask(18*time.Second, "large request", 0, string(make([]byte, 65)), reducer.ErrTooLarge)
	ask(20*time.Second-5*time.Millisecond, "gone", 1, "hello", nil)
	ask(31*time.Second, "timeout", 0, "hello", nil)
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	want := map[string]state.RequestStatus{"echo": state.RequestOK, "refused": state.RequestRefused,
		"large answer": state.RequestTooLarge, "gone": state.RequestPeerGone, "timeout": state.RequestTimeout}
	for name, st := range want {
		id, ok := ids[name]
		if !ok {
			t.Errorf("%s: never sent", name)
			continue
		}
		got, ok := outcomes[id]
		if !ok || got.Status != st {
			t.Errorf("%s (request %d): outcome %+v, want %s", name, id, got, st)
		}
	}
	if got := string(outcomes[ids["echo"]].Data); got != "re: hello" {
		t.Errorf("echo answered %q", got)
	}
	noViolations(t, s)
	s.Close()
	for _, n := range s.Nodes {
		if _, err := replay.VerifyFile(n.Path, replay.Options{CheckInvariants: true}); err != nil {
			t.Errorf("%s: %v", n.ID, err)
		}
	}
}
