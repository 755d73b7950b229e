package browsertest

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/inspect"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/sim"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

type clock struct{ t int64 }

func (c *clock) Now() int64 { return c.t }

// divergingLog records a small simulation, then records node-001's run
// again with one command of action #from (or the next with commands) left
// out, as a build with a different effect would have.
func divergingLog(t *testing.T, from uint64) (string, uint64) {
	t.Helper()
	dir := t.TempDir()
	s, err := sim.New(sim.Config{Nodes: 3, Seed: 5, Duration: 10 * time.Second, RecordDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rd, err := replay.Open(filepath.Join(dir, "node-001.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	h := rd.Header()
	out := filepath.Join(dir, "changed.log")
	w, err := replay.Create(out, h)
	if err != nil {
		t.Fatal(err)
	}
	var changed uint64
	var clk clock
	st := store.New(h.InitialState(), nil, &clk, store.Options{Observer: w, CheckpointEvery: h.CheckpointEvery,
		Intercept: func(_ *state.State, m action.Meta, _ action.Action, cmds []service.Command) []service.Command {
			if changed == 0 && m.ID >= from && len(cmds) > 0 {
				changed = m.ID
				return cmds[:len(cmds)-1]
			}
			return cmds
		}})
	var rec replay.Record
	for {
		if err := rd.NextInto(&rec); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if rec.Type == replay.RecordInput {
			clk.t = rec.Meta.Time
			st.Dispatch(rec.Action)
		}
	}
	hash, sections := st.State().Hashes()
	if err := w.End(st.LastID(), hash, sections); err != nil {
		t.Fatal(err)
	}
	return out, changed
}

// A log that fails to verify opens at the action where the replay
// diverged, with what the log has and what the replay did.
func TestDivergingLogInChromium(t *testing.T) {
	exe := chromium(t)
	out := artefacts(t)
	path, at := divergingLog(t, 300)
	l, err := inspect.Load(path, inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inspect.NewServer([]*inspect.Log{l}, inspect.ServerOptions{}).Handler())
	defer srv.Close()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("banner")),
		chromedp.WaitVisible(fmt.Sprintf(`//h2[@id="detail-title"][starts-with(., "#%d ")]`, at)),
		chromedp.WaitVisible(chromedp.CSS(`#list .row.selected`)),
		screenshot(filepath.Join(out, "7-divergence.png")),
	); err != nil {
		t.Fatalf("open a diverging log: %v", err)
	}
	banner, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("banner")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("diverged at action #%d", at), "expected (the log):", "got (the replay):", fmt.Sprintf("Opened at the diverging action #%d", at)} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not say %q:\n%s", want, banner)
		}
	}
}
