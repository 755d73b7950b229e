package inspect

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/sim"
	"github.com/p2pcore/p2pcore/state"
)

var (
	simOnce sync.Once
	simDir  string
	simErr  error
)

// simLogs records a small seeded simulation once per test binary: five
// nodes for 20 simulated seconds.
func simLogs(t testing.TB) string {
	t.Helper()
	simOnce.Do(func() {
		simDir, simErr = os.MkdirTemp("", "p2pcore-inspect-")
		if simErr != nil {
			return
		}
		var s *sim.Sim
		s, simErr = sim.New(sim.Config{Nodes: 5, Seed: 7, Duration: 20 * time.Second, RecordDir: simDir, CheckpointEvery: 256})
		if simErr != nil {
			return
		}
		if _, simErr = s.Run(); simErr != nil {
			return
		}
		simErr = s.Close()
	})
	if simErr != nil {
		t.Fatal(simErr)
	}
	return simDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range []string{simDir, simDir2} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

// hashesByID replays the log in full and returns the state hash after
// every action: what a jump must reproduce.
func hashesByID(t *testing.T, path string) []state.Hash {
	t.Helper()
	rd, err := replay.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	hashes := []state.Hash{{}}
	r, err := replay.NewReplayer(rd, replay.Options{AfterAction: func(st *state.State, m action.Meta, _ action.Action) {
		hashes = append(hashes, st.Hash())
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(); err != nil {
		t.Fatal(err)
	}
	return hashes
}

func TestJumpGivesTheStateOfAFullReplay(t *testing.T) {
	path := filepath.Join(simLogs(t), "node-001.log")
	l, err := Load(path, Options{SnapshotEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Verified || l.Problem != nil {
		t.Fatalf("a good log: verified=%v problem=%v", l.Verified, l.Problem)
	}
	want := hashesByID(t, path)
	if got := l.Len(); got != uint64(len(want)-1) {
		t.Fatalf("indexed %d actions, the replay has %d", got, len(want)-1)
	}
	if len(l.snaps) < 3 {
		t.Fatalf("only %d snapshots for %d actions every 100", len(l.snaps), l.Len())
	}
	// Every action at the start, around each snapshot, and at the end.
	ids := []uint64{1, 2, 3, l.Len()}
	for _, s := range l.snaps[1:] {
		ids = append(ids, s.id-1, s.id, s.id+1)
	}
	for _, id := range ids {
		if id == 0 || id > l.Len() {
			continue
		}
		p, err := l.At(id)
		if err != nil {
			t.Fatalf("At(%d): %v", id, err)
		}
		if p.Meta.ID != id {
			t.Fatalf("At(%d) returned action #%d", id, p.Meta.ID)
		}
		if got := p.After.Hash(); got != want[id] {
			t.Fatalf("state after #%d: hash %s, a full replay gives %s", id, got.Short(), want[id].Short())
		}
		// An input's state has its clock set before it is applied.
		if got := p.Before.Hash(); got != want[id-1] && p.Meta.Parent != 0 {
			t.Fatalf("state before #%d: hash %s, a full replay gives %s", id, got.Short(), want[id-1].Short())
		}
		if p.Replayed > 100+uint64(64) {
			t.Fatalf("At(%d) replayed %d actions with snapshots every 100", id, p.Replayed)
		}
		if k := l.kinds[id-1]; k != p.Action.Kind() {
			t.Fatalf("#%d indexed as %s, replayed as %s", id, k, p.Action.Kind())
		}
		// The group: the input, then every action up to the next input,
		// each queued by one before it.
		g := p.Group
		if len(g) == 0 || g[0].Meta.Parent != 0 || g[0].Meta.ID > id || g[len(g)-1].Meta.ID < id {
			t.Fatalf("the group of #%d: %d actions from #%d", id, len(g), g[0].Meta.ID)
		}
		for j, c := range g {
			if c.Meta.ID != g[0].Meta.ID+uint64(j) || (j > 0 && (c.Meta.Parent < g[0].Meta.ID || c.Meta.Parent >= c.Meta.ID)) {
				t.Fatalf("the group of #%d: action %d is #%d queued by #%d", id, j, c.Meta.ID, c.Meta.Parent)
			}
			if c.Meta.ID == id && len(c.Commands) != len(p.Commands) {
				t.Fatalf("#%d has %d commands in its group, %d on its own", id, len(c.Commands), len(p.Commands))
			}
		}
		if next := g[len(g)-1].Meta.ID + 1; next <= l.Len() && l.flags[next-1]&flagInput == 0 {
			t.Fatalf("the group of #%d stops before #%d, which is not an input", id, next)
		}
	}
	if _, err := l.At(l.Len() + 1); err == nil {
		t.Fatal("At past the end: no error")
	}
}

// A log cut short (a node still writing it, a truncated copy) or damaged
// in the middle is indexed up to its last good input, says why, and its
// actions can be opened.
func TestDamagedLogsAreIndexedUpToTheDamage(t *testing.T) {
	src := filepath.Join(simLogs(t), "node-004.log")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Load(src, Options{SnapshotEvery: 200})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	torn := filepath.Join(dir, "torn.log")
	os.WriteFile(torn, data[:len(data)/2], 0o644)
	flipped := append([]byte(nil), data...)
	flipped[len(data)*3/4] ^= 0x40
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, flipped, 0o644)

	for _, c := range []struct {
		path string
		want string
	}{{torn, "torn tail"}, {bad, "offset"}} {
		l, err := Load(c.path, Options{SnapshotEvery: 200})
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if l.Verified || l.Problem == nil || !strings.Contains(l.Problem.Error(), c.want) {
			t.Fatalf("%s: verified=%v problem %v, want one with %q", l.Name, l.Verified, l.Problem, c.want)
		}
		if l.Len() == 0 || l.Len() >= full.Len() {
			t.Fatalf("%s: indexed %d of %d actions", l.Name, l.Len(), full.Len())
		}
		p, err := l.At(l.Len())
		if err != nil {
			t.Fatalf("%s: the last indexed action: %v", l.Name, err)
		}
		want, _ := full.At(l.Len())
		if p.After.Hash() != want.After.Hash() {
			t.Fatalf("%s: the state after #%d differs from the whole log's", l.Name, l.Len())
		}
	}
}
