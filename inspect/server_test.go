package inspect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func loadSim(t *testing.T, names ...string) []*Log {
	t.Helper()
	var logs []*Log
	for _, n := range names {
		l, err := Load(filepath.Join(simLogs(t), n), Options{SnapshotEvery: 500})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	return logs
}

func get(t *testing.T, h http.Handler, url string, v any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	if v != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("%s: %v in %.200s", url, err, rec.Body.String())
		}
	}
	return rec.Code
}

func TestServerAPI(t *testing.T) {
	logs := loadSim(t, "node-000.log", "node-001.log", "node-002.log", "node-003.log", "node-004.log")
	h := NewServer(logs, ServerOptions{}).Handler()

	var page Page
	if c := get(t, h, "/api/actions?log=1&from=0&n=50&kind=GossipReceived", &page); c != 200 {
		t.Fatalf("actions: %d", c)
	}
	if page.Total == 0 || len(page.Rows) != 50 {
		t.Fatalf("GossipReceived: total %d, %d rows", page.Total, len(page.Rows))
	}
	for _, r := range page.Rows {
		if r.Kind != "GossipReceived" || !r.Input || r.Peer == "" {
			t.Fatalf("row %+v does not match the filter", r)
		}
	}
	var all Page
	get(t, h, "/api/actions?log=1&from=0&n=5000", &all)
	if all.Total != logs[1].Len() || len(all.Rows) != maxPage {
		t.Fatalf("unfiltered: total %d of %d, %d rows (max %d)", all.Total, logs[1].Len(), len(all.Rows), maxPage)
	}

	// The detail of a broadcast: its command, and a diff showing the
	// channel's counter move.
	id := page.Rows[10].ID
	var d Detail
	if c := get(t, h, "/api/action/"+itoa(id)+"?log=1", &d); c != 200 {
		t.Fatalf("action %d: %d", id, c)
	}
	if d.ID != id || d.Diff == "" || !strings.Contains(d.Diff, "Received") {
		t.Fatalf("action %d: diff %q", id, d.Diff)
	}
	var b Broadcast
	var pubs Page
	get(t, h, "/api/actions?log=1&from=200&n=1&kind=BroadcastMessage", &pubs)
	if c := get(t, h, "/api/follow/"+itoa(pubs.Rows[0].ID)+"?log=1", &b); c != 200 {
		t.Fatalf("follow: %d", c)
	}
	if b.Sender == nil || b.Sender.Log != 1 || len(b.Receivers) != 4 {
		t.Fatalf("a broadcast of node-001 after the warm-up: sender %+v, %d receivers, missing %v", b.Sender, len(b.Receivers), b.Missing)
	}
	for _, r := range b.Receivers {
		if r.Delay <= 0 || r.Delay > 1e9 {
			t.Fatalf("receipt %+v: delay %d ns", r, r.Delay)
		}
	}

	for _, bad := range []string{"/api/actions?kind=NoSuchKind", "/api/action/0", "/api/action/99999999", "/api/action/x",
		"/api/actions?log=9", "/api/state/5?path=Nope", "/api/actions?type=sideways"} {
		if c := get(t, h, bad, nil); c != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, c)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/logs", nil))
	if rec.Code == http.StatusOK {
		t.Error("a POST was served: the inspector is read-only")
	}
	var html = httptest.NewRecorder()
	h.ServeHTTP(html, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(html.Body.String(), "app.js") {
		t.Fatalf("the page: %d %.100s", html.Code, html.Body.String())
	}
}

func TestServerToken(t *testing.T) {
	h := NewServer(loadSim(t, "node-000.log"), ServerOptions{Token: "s3cret"}).Handler()
	if c := get(t, h, "/api/logs", nil); c != http.StatusUnauthorized {
		t.Fatalf("no token: %d", c)
	}
	if c := get(t, h, "/api/logs?token=wrong", nil); c != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", c)
	}
	if c := get(t, h, "/?token=s3cret", nil); c != http.StatusOK {
		t.Fatalf("right token: %d", c)
	}
	req := httptest.NewRequest("GET", "/api/logs", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("bearer token: %d", rec.Code)
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8080", "", true}, {"[::1]:8080", "", true}, {"localhost:0", "", true},
		{"0.0.0.0:8080", "", false}, {"192.0.2.1:80", "", false}, {"0.0.0.0:8080", "t", true}, {"nonsense", "", false},
	} {
		if err := CheckListen(c.addr, c.token); (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %q) = %v", c.addr, c.token, err)
		}
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Requests run concurrently (net/http serves each in its goroutine): jumps,
// filters and the cache of selections share the loaded logs.
func TestServerConcurrentRequests(t *testing.T) {
	logs := loadSim(t, "node-000.log", "node-003.log")
	h := NewServer(logs, ServerOptions{}).Handler()
	urls := []string{"/api/action/%d?log=0", "/api/action/%d?log=1", "/api/actions?log=0&from=%d&n=50&kind=GossipReceived",
		"/api/actions?log=1&from=%d&n=50&q=node-00", "/api/state/%d?log=0&path=Counters", "/api/find?log=1&id=%d&type=input"}
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 20 {
				url := fmt.Sprintf(urls[(g+i)%len(urls)], 1+(g*37+i*101)%500)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
				if rec.Code != http.StatusOK {
					done <- fmt.Errorf("%s: %d %s", url, rec.Code, rec.Body.String())
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
