package inspect

import (
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// rerecord replays a good log into a new one with one change: the first
// action from #from on that produces commands loses its last one, as if
// the build that wrote the log had a different effect. It returns the new
// log and that action's ID.
func rerecord(t *testing.T, src string, from uint64) (string, uint64) {
	t.Helper()
	rd, err := replay.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	h := rd.Header()
	out := filepath.Join(t.TempDir(), "changed.log")
	w, err := replay.Create(out, h)
	if err != nil {
		t.Fatal(err)
	}
	var changed uint64
	var clk fixedClock
	s := store.New(h.InitialState(), nil, &clk, store.Options{Observer: w, CheckpointEvery: h.CheckpointEvery,
		Intercept: func(_ *state.State, m action.Meta, _ action.Action, cmds []service.Command) []service.Command {
			if changed == 0 && m.ID >= from && len(cmds) > 0 {
				changed = m.ID
				return cmds[:len(cmds)-1]
			}
			return cmds
		}})
	var rec replay.Record
	for {
		err := rd.NextInto(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Type == replay.RecordInput {
			clk.t = rec.Meta.Time
			s.Dispatch(rec.Action)
		}
	}
	hash, sections := s.State().Hashes()
	if err := w.End(s.LastID(), hash, sections); err != nil {
		t.Fatal(err)
	}
	if changed == 0 {
		t.Fatalf("no action from #%d on produced commands", from)
	}
	return out, changed
}

func TestADivergingLogOpensAtTheDivergence(t *testing.T) {
	path, at := rerecord(t, filepath.Join(simLogs(t), "node-002.log"), 1000)
	l, err := Load(path, Options{SnapshotEvery: 256})
	if err != nil {
		t.Fatal(err)
	}
	if l.Verified || l.Divergence == nil {
		t.Fatalf("a log whose commands changed at #%d: verified=%v, problem %v", at, l.Verified, l.Problem)
	}
	d := l.Divergence
	if d.ID != at || d.Expected == "" && d.Got == "" {
		t.Fatalf("divergence %+v, want one at #%d with the expected and the replayed command", d, at)
	}
	if l.Len() < at {
		t.Fatalf("indexed %d actions, not up to the divergence at #%d", l.Len(), at)
	}
	if _, err := l.At(at); err != nil {
		t.Fatalf("the diverging action cannot be opened: %v", err)
	}

	// The page learns of it from /api/logs and opens there.
	h := NewServer([]*Log{l}, ServerOptions{}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/logs", nil))
	body := rec.Body.String()
	if !strings.Contains(body, `"divergence":{"ID":`+itoa(at)) || !strings.Contains(body, `"Got":`) {
		t.Fatalf("/api/logs does not report the divergence at #%d: %s", at, body)
	}
}
