package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/inspect"
)

func TestInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.log")
	os.WriteFile(junk, []byte("not a log at all"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)

	wantOneLine(t, cli("inspect"), "inspect", 2, "want one or more LOG")
	wantOneLine(t, cli("inspect", "--listen", "0.0.0.0:0", junk), "inspect", 2, "not a loopback address", "--token")
	wantOneLine(t, cli("inspect", "--listen", "nonsense", junk), "inspect", 2, "nonsense")
	wantOneLine(t, cli("inspect", "--snapshot-every", "0", junk), "inspect", 2, "--snapshot-every")
	wantOneLine(t, cli("inspect", filepath.Join(dir, "missing.log")), "inspect", 1, "missing.log")
	wantOneLine(t, cli("inspect", junk), "inspect", 1, "not a p2pcore action log")
	wantOneLine(t, cli("inspect", empty), "inspect", 1, "no *.log files")
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// run --http serves the metrics, the profiler and the inspector on the
// node's own log, and only to requests with the token when one is set.
func TestRunServesMetricsProfilerAndInspector(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the node with os.Interrupt")
	}
	dir, _ := keyedDir(t)
	log := filepath.Join(dir, "node.log")
	addr := freeAddr(t)
	b := start("run", "--data-dir", dir, "--listen", localTCP, "--record", log, "--log-level", "warn",
		"--http", addr, "--http-token", "tok")
	if !waitFor(15*time.Second, b.started) {
		t.Fatalf("run did not start\n%v", b.result(-1))
	}
	defer b.interrupt(t)
	base := "http://" + addr
	if code, _ := httpGet(t, base+"/metrics"); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d", code)
	}
	code, body := httpGet(t, base+"/metrics?token=tok")
	if code != 200 || !strings.Contains(body, "p2pcore_actions_total{kind=\"Tick\"}") || !strings.Contains(body, "p2pcore_dispatch_seconds_bucket") {
		t.Errorf("/metrics: %d\n%.400s", code, body)
	}
	if code, body := httpGet(t, base+"/debug/pprof/?token=tok"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d %.200s", code, body)
	}
	// The log is flushed every 200 ms: wait for the first Tick in it.
	var logs []inspect.LogInfo
	waitFor(5*time.Second, func() bool {
		code, body := httpGet(t, base+"/api/reload?token=tok")
		logs = nil
		return code == 200 && json.Unmarshal([]byte(body), &logs) == nil && len(logs) == 1 && logs[0].Actions > 0
	})
	if len(logs) != 1 || logs[0].Actions == 0 || !logs[0].Live || !logs[0].Timings {
		t.Fatalf("the inspector on the running node: %+v", logs)
	}
	code, body = httpGet(t, base+"/api/stats?token=tok")
	if code != 200 || !strings.Contains(body, `"timings"`) || !strings.Contains(body, `"reduce_mean_ns"`) {
		t.Errorf("/api/stats: %d %.300s", code, body)
	}
	if code, body := httpGet(t, base+"/?token=tok"); code != 200 || !strings.Contains(body, "app.js") {
		t.Errorf("the inspector page: %d %.200s", code, body)
	}
	wantOneLine(t, cli("run", "--data-dir", dir, "--http", "0.0.0.0:0"), "run", 2, "--http", "token")
}
