package replay_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/sim"
	"github.com/p2pcore/p2pcore/state"
)

// These tests take a log recorded by the current code and replay it with
// one reducer or effect changed (through replay.Options.Intercept, which
// runs right after an action's reducer and effects and may change what
// they did). The replay must stop at the action where the change shows,
// name it, and show the differing command; a change that only touches the
// state must be reported with its checkpoint interval and section, and
// narrowed to the action by comparing per-action section hashes.

// quietSim is a log with pings (no workload, so peers fall idle) and
// remote disconnects (the bootnode takes two inbound peers and refuses the
// rest with a reason).
var quietSim = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "p2pcore-divergence-")
	if err != nil {
		return "", err
	}
	quietDir = dir
	s, err := sim.New(sim.Config{
		Nodes: 6, Seed: 11, Duration: 150 * time.Second, RecordDir: dir,
		TxRate: -1, BlockInterval: -1, CheckpointEvery: 64,
		Tweak: func(i int, c *state.Config) {
			if i == 0 {
				c.MaxInbound = 2
			}
		},
	})
	if err != nil {
		return "", err
	}
	if _, err := s.Run(); err != nil {
		return "", err
	}
	return dir, nil
})

// quietDir is removed by TestMain.
var quietDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if quietDir != "" {
		os.RemoveAll(quietDir)
	}
	os.Exit(code)
}

// quietLog is the log of node i of the quiet simulation: node 1 is
// accepted by the bootnode and pings it, node 4 is refused with a reason.
func quietLog(t *testing.T, i int) string {
	t.Helper()
	dir, err := quietSim()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("node-%03d.log", i))
	if _, err := replay.VerifyFile(path, replay.Options{}); err != nil {
		t.Fatalf("the unchanged log does not verify: %v", err)
	}
	return path
}

// firstEnabled is the ID of the first enabled derived action of kind k in
// the log.
func firstEnabled(t *testing.T, path string, k action.Kind) uint64 {
	t.Helper()
	rd, err := replay.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for {
		rec, err := rd.Next()
		if err != nil {
			t.Fatalf("the log has no enabled %s: %v", k, err)
		}
		if rec.Type == replay.RecordDerived && rec.Kind == k && !rec.Dropped {
			return rec.Meta.ID
		}
	}
}

func replayWith(t *testing.T, path string, intercept func(*state.State, action.Meta, action.Action, []service.Command) []service.Command) *replay.DivergenceError {
	t.Helper()
	_, err := replay.VerifyFile(path, replay.Options{Intercept: intercept})
	if err == nil {
		t.Fatal("the changed replay verified")
	}
	return asDivergence(t, "changed replay", err)
}

// An effect that echoes a wrong ping nonce is caught at the first ping it
// answers, with the command the log expected and the one it got.
func TestChangedEffectWrongPingNonce(t *testing.T) {
	path := quietLog(t, 1)
	want := firstEnabled(t, path, action.KindPingRequestReceived)
	de := replayWith(t, path, func(_ *state.State, _ action.Meta, a action.Action, cmds []service.Command) []service.Command {
		if p, ok := a.(action.PingRequestReceived); ok {
			for i, c := range cmds {
				if s, ok := c.(service.Send); ok {
					s.Data = message.Marshal(message.PingResponse{Nonce: p.Nonce + 1})
					cmds[i] = s
				}
			}
		}
		return cmds
	})
	if de.StateOnly || de.ID != want || de.Kind != action.KindPingRequestReceived {
		t.Fatalf("divergence %+v; want action #%d (PingRequestReceived)", de, want)
	}
	if !strings.HasPrefix(de.Expected, "Send channel=control") || !strings.Contains(de.Got, "PingResponse{Nonce=") {
		t.Errorf("expected %q, got %q", de.Expected, de.Got)
	}
	t.Log(de)
}

// An effect that no longer closes after the peer said goodbye is caught at
// the first DisconnectReceived.
func TestChangedEffectNoCloseAfterRemoteDisconnect(t *testing.T) {
	path := quietLog(t, 4)
	want := firstEnabled(t, path, action.KindDisconnectReceived)
	de := replayWith(t, path, func(_ *state.State, _ action.Meta, a action.Action, cmds []service.Command) []service.Command {
		if _, ok := a.(action.DisconnectReceived); ok {
			return slices.DeleteFunc(cmds, func(c service.Command) bool { _, close := c.(service.Close); return close })
		}
		return cmds
	})
	if de.StateOnly || de.ID != want || de.Kind != action.KindDisconnectReceived {
		t.Fatalf("divergence %+v; want action #%d (DisconnectReceived)", de, want)
	}
	if !strings.HasPrefix(de.Expected, "Close") || de.Got != "" {
		t.Errorf("expected %q, got %q", de.Expected, de.Got)
	}
	t.Log(de)
}

// A reducer that moves a counter at one action changes only the state: the
// replay reports the checkpoint interval and the section, never a wrong
// kind or an unrelated action, and comparing per-action section hashes
// with the unchanged rules names the action.
func TestChangedReducerStateOnly(t *testing.T) {
	path := quietLog(t, 1)
	var changed uint64
	bump := func(st *state.State, m action.Meta, _ action.Action, cmds []service.Command) []service.Command {
		if changed == 0 && m.ID >= 59 || changed == m.ID {
			changed = m.ID
			st.Counters.PingsSent++
		}
		return cmds
	}
	de := replayWith(t, path, bump)
	if !de.StateOnly || de.Kind != 0 || de.ID != 0 {
		t.Fatalf("divergence %+v; want a state-only one", de)
	}
	if de.After >= changed || de.At < changed || de.At-de.After > 64 || !slices.Equal(de.Sections, []string{"Counters"}) {
		t.Fatalf("divergence between #%d and #%d in %v; the change was at #%d in Counters", de.After+1, de.At, de.Sections, changed)
	}
	if strings.Contains(de.Error(), "kind(") {
		t.Errorf("the report names a kind: %v", de)
	}
	t.Log(de)

	d, err := replay.FirstStateDifference(path, de.After+1, de.At, replay.Options{}, replay.Options{Intercept: bump})
	if err != nil {
		t.Fatal(err)
	}
	if d == nil || d.ID != changed || !slices.Equal(d.Sections, []string{"Counters"}) {
		t.Fatalf("narrowed to %+v; the change was at #%d", d, changed)
	}
}

// A log recorded with a checkpoint after every action pins a state-only
// divergence to its action without a second build.
func TestDenseCheckpointsPinTheAction(t *testing.T) {
	dir := t.TempDir()
	s, err := sim.New(sim.Config{Nodes: 3, Seed: 5, Duration: 20 * time.Second, RecordDir: dir, TxRate: 5, CheckpointEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	var at uint64
	de := replayWith(t, s.Nodes[1].Path, func(st *state.State, m action.Meta, _ action.Action, cmds []service.Command) []service.Command {
		if at == 0 && m.ID >= 100 || at == m.ID {
			at = m.ID
			st.Counters.Handshakes += 7
		}
		return cmds
	})
	if !de.StateOnly || de.At != at || !slices.Equal(de.Sections, []string{"Counters"}) {
		t.Fatalf("divergence %+v; want the state-only change at #%d", de, at)
	}
}

// Application payloads over Config.RecordPayloadLimit are recorded as their
// length and SHA-256: a log of large blocks stays small and still verifies
// (the commands that deliver them are digested by the payload's SHA-256
// either way); with the limit raised, they are recorded in full.
func TestLargePayloadsAreRecordedByDigest(t *testing.T) {
	run := func(limit int) (int64, string) {
		dir := t.TempDir()
		s, err := sim.New(sim.Config{Nodes: 3, Seed: 9, Duration: 20 * time.Second, RecordDir: dir,
			TxRate: -1, BlockInterval: time.Second, BlockSize: 200 << 10,
			Tweak: func(_ int, c *state.Config) { c.RecordPayloadLimit = limit }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(); err != nil {
			t.Fatal(err)
		}
		path := s.Nodes[1].Path
		if _, err := replay.VerifyFile(path, replay.Options{CheckInvariants: true}); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size(), path
	}
	digested, path := run(64 << 10)
	full, _ := run(1 << 20)
	t.Logf("20 s of 200 KiB blocks: %d KiB of log with digests, %d KiB in full", digested>>10, full>>10)
	if digested*10 > full || full < 2<<20 {
		t.Errorf("log sizes: %d bytes with digests, %d in full", digested, full)
	}
	rd, err := replay.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	seen := 0
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		if g, ok := rec.Action.(action.GossipReceived); ok {
			seen++
			if g.Data != nil || g.Len() != 200<<10 {
				t.Fatalf("a 200 KiB broadcast recorded with %d bytes of data, length %d", len(g.Data), g.Len())
			}
		}
	}
	if seen == 0 {
		t.Fatal("the log holds no broadcast")
	}
}
