// Package browsertest drives the inspector page in headless Chromium. It is
// a module of its own so that chromedp stays out of p2pcore's
// dependencies; `make test` runs it (make test-browser).
package browsertest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/p2pcore/p2pcore/inspect"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/sim"
)

// chromium finds the browser: $P2PCORE_CHROMIUM, or chromium (Debian's
// package), chromium-browser or google-chrome on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("P2PCORE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("P2PCORE_SKIP_BROWSER") == "1" {
		t.Skip("no Chromium, and P2PCORE_SKIP_BROWSER=1")
	}
	t.Fatal("the inspector's browser test needs Chromium: install it (apt-get install -y chromium), " +
		"name it with P2PCORE_CHROMIUM=/path/to/chrome, or skip this test locally with P2PCORE_SKIP_BROWSER=1")
	return ""
}

// artefacts is where screenshots go: $P2PCORE_ARTEFACTS, or a directory
// the test names in its output.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("P2PCORE_ARTEFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "p2pcore-inspector-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// screenshot saves the page as a PNG file.
func screenshot(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(path, png, 0o644)
	})
}

// recordSim records a seeded five-node simulation and loads its logs.
func recordSim(t *testing.T) []*inspect.Log {
	t.Helper()
	dir := t.TempDir()
	s, err := sim.New(sim.Config{Nodes: 5, Seed: 3, Duration: 20 * time.Second, RecordDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var logs []*inspect.Log
	for i := range 5 {
		l, err := inspect.Load(filepath.Join(dir, fmt.Sprintf("node-%03d.log", i)), inspect.Options{SnapshotEvery: 512})
		if err != nil {
			t.Fatal(err)
		}
		if !l.Verified {
			t.Fatalf("%s does not verify: %v", l.Name, l.Problem)
		}
		logs = append(logs, l)
	}
	return logs
}

func TestInspectorInChromium(t *testing.T) {
	exe := chromium(t)
	out := artefacts(t)
	logs := recordSim(t)
	srv := httptest.NewServer(inspect.NewServer(logs, inspect.ServerOptions{}).Handler())
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	shot := func(name string) chromedp.Action[chromedp.Void] { return screenshot(filepath.Join(out, name)) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel chromedp.ID) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of #%s: %v", sel, err)
		}
		return s
	}
	eval := func(expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}

	// The timeline of node-000's log.
	do("open the page",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#list .row`)),
	)
	if count, want := text("count"), fmt.Sprintf("%d actions", logs[0].Len()); !strings.HasPrefix(strings.ReplaceAll(count, ",", ""), want) {
		t.Fatalf("the count says %q, want %q", count, want)
	}
	rows := eval(`document.querySelectorAll('#list .row').length`).(float64)
	if rows == 0 || uint64(rows) >= logs[0].Len() {
		t.Fatalf("%v rows in the page for %d actions: the list must render only what is visible", rows, logs[0].Len())
	}
	do("timeline", shot("1-timeline.png"))

	// Filter by kind: every row shown is of that kind.
	do("filter by kind",
		chromedp.SendKeys(chromedp.ID("kind-filter"), "PeerReady"),
		chromedp.Click(chromedp.ID("apply-filter")),
		chromedp.WaitVisible(`//div[@id="count"][contains(., "match the filter")]`),
		chromedp.WaitVisible(chromedp.CSS(`#list .row`)),
	)
	kinds := eval(`[...document.querySelectorAll('#list .row .kind')].map(e => e.textContent)`).([]any)
	if len(kinds) == 0 {
		t.Fatal("no rows after filtering by PeerReady")
	}
	for _, k := range kinds {
		if k != "PeerReady" {
			t.Fatalf("a %v row under a PeerReady filter: %v", k, kinds)
		}
	}

	// Select an action: its diff is the one a replay gives.
	do("select an action",
		chromedp.Click(chromedp.CSS(`#list .row`)),
		chromedp.WaitVisible(chromedp.ID("diff")),
	)
	title := text("detail-title")
	var id uint64
	if _, err := fmt.Sscanf(title, "#%d PeerReady", &id); err != nil {
		t.Fatalf("the detail's title is %q, want a PeerReady", title)
	}
	p, err := logs[0].At(id)
	if err != nil {
		t.Fatal(err)
	}
	want := replay.Diff(p.Before, p.After)
	got := eval(`document.getElementById('diff').textContent`).(string)
	if squash(got) != squash(want) || !strings.Contains(got, "+") {
		t.Errorf("the page shows the diff of #%d as\n%s\nwant\n%s", id, got, want)
	}
	do("pin a subtree",
		chromedp.WaitVisible(chromedp.CSS(`#state-tree .key`)),
		chromedp.Click(`//div[@id="state-tree"]//span[@class="key"][text()="Counters"]`),
		chromedp.WaitVisible(chromedp.CSS(`#pin-tree .key`)),
		shot("2-diff.png"),
	)

	// Jump to action N, then step forward.
	n := logs[0].Len() / 2
	do("jump",
		chromedp.SendKeys(chromedp.ID("jump-input"), fmt.Sprint(n)),
		chromedp.Click(chromedp.ID("jump-btn")),
		chromedp.WaitVisible(fmt.Sprintf(`//h2[@id="detail-title"][starts-with(., "#%d ")]`, n)),
	)
	if title, want := text("detail-title"), fmt.Sprintf("#%d %s", n, logs[0].Row(n).Kind); title != want {
		t.Errorf("after a jump to %d the detail says %q, want %q", n, title, want)
	}
	do("step forward",
		chromedp.Click(chromedp.ID("next")),
		chromedp.WaitVisible(fmt.Sprintf(`//h2[@id="detail-title"][starts-with(., "#%d ")]`, n+1)),
		shot("3-jump.png"),
	)

	// Follow a broadcast of node-000 after the network formed: the other
	// four logs received it.
	var pub uint64
	for id := logs[0].Len() / 2; id <= logs[0].Len(); id++ {
		if logs[0].Row(id).Kind == "BroadcastMessage" {
			pub = id
			break
		}
	}
	do("follow a broadcast",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('jump-input').value = ''`),
		chromedp.SendKeys(chromedp.ID("jump-input"), fmt.Sprint(pub)),
		chromedp.Click(chromedp.ID("jump-btn")),
		chromedp.WaitVisible(fmt.Sprintf(`//h2[@id="detail-title"][starts-with(., "#%d BroadcastMessage")]`, pub)),
		chromedp.Click(chromedp.ID("follow")),
		chromedp.WaitVisible(chromedp.CSS(`#follow-out table`)),
		shot("3b-follow.png"),
	)
	if got := eval(`document.querySelectorAll('#follow-out table tr').length - 1`).(float64); got != 4 {
		t.Errorf("broadcast #%d of node-000 followed to %v logs, want the 4 others", pub, got)
	}

	// Charts and statistics.
	do("charts",
		chromedp.Click(chromedp.ID("tab-charts")),
		chromedp.WaitVisible(chromedp.CSS(`#charts svg`)),
		shot("4-charts.png"),
	)
	charts := eval(`document.querySelectorAll('#charts svg').length`).(float64)
	do("statistics",
		chromedp.Click(chromedp.ID("tab-stats")),
		chromedp.WaitVisible(chromedp.ID("stats-table")),
		shot("5-stats.png"),
	)
	statRows := eval(`document.querySelectorAll('#stats-table tr').length`).(float64)
	if charts < 4 || statRows < 5 {
		t.Errorf("%v charts and %v statistics rows", charts, statRows)
	}

	// The whole timeline again, at the input that made the first peer
	// ready: the picture of the README (docs/inspector.png).
	input := id
	for logs[0].Row(input).Parent != 0 {
		input = logs[0].Row(input).Parent
	}
	do("clear the filter",
		chromedp.Click(chromedp.ID("tab-actions")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('kind-filter').value = ''`),
		chromedp.Click(chromedp.ID("apply-filter")),
		chromedp.WaitVisible(`//div[@id="count"][not(contains(., "match"))][contains(., "actions")]`),
	)
	do("overview",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('jump-input').value = ''`),
		chromedp.SendKeys(chromedp.ID("jump-input"), fmt.Sprint(input)),
		chromedp.Click(chromedp.ID("jump-btn")),
		chromedp.WaitVisible(fmt.Sprintf(`//h2[@id="detail-title"][starts-with(., "#%d ")]`, input)),
		chromedp.WaitVisible(chromedp.CSS(`#children a`)),
		chromedp.WaitVisible(chromedp.CSS(`#list .row.selected`)),
		chromedp.WaitVisible(chromedp.CSS(`#group li`)),
		shot("6-overview.png"),
	)
	// The tree of what the input caused holds every action of its group.
	var group uint64
	for j := input + 1; j <= logs[0].Len() && !logs[0].Row(j).Input; j++ {
		group++
	}
	if got := eval(`document.querySelectorAll('#group li:not(.cmd)').length`).(float64); uint64(got) != group+1 {
		t.Errorf("the tree of input #%d shows %v actions, want %d", input, got, group+1)
	}
}

// squash drops white space, which the page lays out its own way.
func squash(s string) string { return strings.Join(strings.Fields(s), "") }
