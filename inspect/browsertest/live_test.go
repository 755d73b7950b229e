package browsertest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/p2pcore/p2pcore/inspect"
	"github.com/p2pcore/p2pcore/node"
)

// The inspector on a running node (as p2pnode run --http serves it): the
// node's own log, and the times its reducers and effects took.
func TestLiveNodeInChromium(t *testing.T) {
	exe := chromium(t)
	out := artefacts(t)
	dir := t.TempDir()
	record := filepath.Join(dir, "node.log")
	n, err := node.New(node.Config{Network: "browsertest", Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DataDir: dir,
		Record: record, Metrics: true, TickInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := n.Start(sctx); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	time.Sleep(time.Second) // some ticks, flushed to the log

	srv := httptest.NewServer(inspect.NewServer(nil, inspect.LiveOptions(n, record, "")).Handler())
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
		chromedp.WaitVisible(chromedp.CSS(`#list .row`)),
		chromedp.WaitVisible(`//div[@id="banner"][contains(., "still writing this log")]`),
		chromedp.WaitVisible(chromedp.ID("reload")),
		chromedp.Click(chromedp.ID("reload")),
		chromedp.WaitVisible(chromedp.CSS(`#list .row`)),
		chromedp.Click(chromedp.ID("tab-stats")),
		chromedp.WaitVisible(`//table[@id="stats-table"]//th[text()="reducer mean"]`),
		chromedp.WaitVisible(`//table[@id="stats-table"]//tr[td[1][text()="Tick"]]//span[@class="bar"]`),
		screenshot(filepath.Join(out, "8-live-stats.png")),
	); err != nil {
		t.Fatalf("the live node's statistics: %v", err)
	}
	row, err := chromedp.Run(ctx, chromedp.Text(`//table[@id="stats-table"]//tr[td[1][text()="Tick"]]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(row, "µs") && !strings.Contains(row, "ns") {
		t.Errorf("the Tick row shows no times: %q", row)
	}
}
