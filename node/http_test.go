package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/state"
)

// TestHTTPOverLibp2p: a GET over a libp2p stream reaches a standard
// handler, which sees the caller's peer ID; the client refuses other
// hosts and peers it is not connected to; the per-peer rate limit holds
// requests beyond it for the next window and fails those that wait too
// long with ErrQueueingTimeout; every exchange is in both logs, which
// replay.
func TestHTTPOverLibp2p(t *testing.T) {
	rules := state.DefaultConfig("test")
	rules.HTTPRateLimit = 5
	rules.HTTPRateWindow = time.Second
	rules.HTTPQueueTimeout = 1500 * time.Millisecond
	c := newCluster(t)
	a := c.start("a", &rules)
	b := c.start("b", &rules, a)
	waitFor(t, 10*time.Second, describePeers(a, b), func() bool { return readyWith(b, a.ID()) })

	err := a.HandleHTTP("/block/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "block %s for %s", strings.TrimPrefix(r.URL.Path, "/block/"), node.HTTPPeer(r))
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.HandleHTTP("/block/", http.NotFoundHandler()); err == nil {
		t.Error("a second handler for the same pattern was accepted")
	}
	client := b.HTTPClient(a.ID())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(path string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+string(a.ID())+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %d", resp.StatusCode)
		}
		return string(body), err
	}
	body, err := get("/block/7")
	if err != nil {
		t.Fatal(err)
	}
	if want := "block 7 for " + string(b.ID()); body != want {
		t.Errorf("body %q, want %q", body, want)
	}

	if wk, err := get("/.well-known/libp2p/protocols"); err != nil || !strings.Contains(wk, `"/p2pcore/test/http/1"`) {
		t.Errorf("the well-known protocol map: %q, %v", wk, err)
	}
	big, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+string(a.ID())+"/block/8", nil)
	big.Header.Set("X-Padding", strings.Repeat("x", 32<<10))
	if resp, err := client.Do(big); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 32 KiB header: %v %v, want status 431", resp, err)
	} else {
		resp.Body.Close()
	}
	if _, err := client.Get("http://example.com/block/7"); !errors.Is(err, node.ErrOtherHost) {
		t.Errorf("a URL for another host: %v, want ErrOtherHost", err)
	}
	if _, err := a.HTTPClient("12D3KooWBtMtTxfxBeuXvAmAagpPH9Jv6hvqVfQ2tkBNVefBJRC4").Get("http://12D3KooWBtMtTxfxBeuXvAmAagpPH9Jv6hvqVfQ2tkBNVefBJRC4/x"); !errors.Is(err, reducer.ErrNotReady) && !errors.Is(err, reducer.ErrUnknownPeer) {
		t.Errorf("a peer we are not connected to: %v, want ErrUnknownPeer", err)
	}

	// The first requests used places of their window; wait it out.
	time.Sleep(1100 * time.Millisecond)
	const n = 12
	var wg sync.WaitGroup
	start := time.Now()
	errs := make([]error, n)
	took := make([]time.Duration, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = get(fmt.Sprintf("/block/%d", i))
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	var ok, queued, timedOut int
	for i, err := range errs {
		switch {
		case err == nil && took[i] >= 900*time.Millisecond:
			queued++
			ok++
		case err == nil:
			ok++
		case errors.Is(err, node.ErrQueueingTimeout):
			timedOut++
		default:
			t.Errorf("request %d: %v", i, err)
		}
	}
	// 5 in the first window, 5 in the second (after 1 s), 2 would need a
	// third (after 2 s) but give up at 1.5 s.
	if ok != 10 || queued != 5 || timedOut != 2 {
		t.Errorf("%d succeeded (%d after waiting for the next window), %d queueing timeouts; want 10 (5), 2", ok, queued, timedOut)
	}
	exchanges := func(n *testNode) (x uint64) {
		n.State(context.Background(), func(s *state.State) { x = s.HTTP.Exchanges })
		return x
	}
	waitFor(t, 5*time.Second, func() string {
		return fmt.Sprintf("11 exchanges recorded on each side: a %d, b %d", exchanges(a), exchanges(b))
	}, func() bool { return exchanges(a) >= 11 && exchanges(b) >= 11 })
	c.closeAndVerify()
}

// TestHTTPStreamTimeout: a peer that takes the request and does not
// answer holds the client no longer than HTTPStreamTimeout, even when
// the caller set no deadline of its own.
func TestHTTPStreamTimeout(t *testing.T) {
	rules := state.DefaultConfig("test")
	rules.HTTPStreamTimeout = 500 * time.Millisecond
	c := newCluster(t)
	a := c.start("a", &rules)
	b := c.start("b", &rules, a)
	waitFor(t, 10*time.Second, describePeers(a, b), func() bool { return readyWith(b, a.ID()) })
	release := make(chan struct{})
	defer close(release)
	if err := a.HandleHTTP("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := b.HTTPClient(a.ID()).Get("http://" + string(a.ID()) + "/slow")
	took := time.Since(start)
	if err == nil || took > 3*time.Second {
		t.Fatalf("a silent handler: %v after %v; want an error after about 500ms", err, took)
	}
	t.Logf("gave up after %v: %v", took.Round(time.Millisecond), err)
}
