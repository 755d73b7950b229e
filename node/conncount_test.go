package node_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// TestEveryConnectionCounted: 20 real hosts run the DHT (background
// discovery of archival peers and lookups of their own) and GossipSub
// traffic. Sampled from go-libp2p's own Network().Conns() every 10 ms, no
// host ever holds more connections than OutboundTarget + MaxInbound +
// MaxServicePeers, however many the DHT and GossipSub open; and every
// node keeps its outbound peers at target.
func TestEveryConnectionCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("20 hosts for 20 s")
	}
	rules := func(i int) *state.Config {
		r := dhtRules()
		if i%4 == 0 {
			r.Capabilities = []string{state.CapArchival}
		}
		r.OutboundTarget, r.MaxInbound, r.MaxPendingInbound, r.MaxServicePeers = 3, 6, 3, 3
		r.ServicePeerLinger = 3 * time.Second
		// Twenty hosts with six inbound places each are full most of the
		// time, and every refusal at a full host's gate doubles that
		// address's redial delay: at the default cap (an hour) a node
		// whose candidates had all been refused a few times waited
		// minutes for its next dial (see below). The count is what this
		// test is about, not the backoff, so the delay stops at 20 s.
		r.BackoffCap = 20 * time.Second
		return r
	}
	ceiling := 3 + 6 + 3
	c := newCluster(t)
	var boots []*testNode
	for i := range 20 {
		n := c.start(fmt.Sprintf("n%02d", i), rules(i), boots...)
		if i < 3 {
			boots = append(boots, n)
		}
	}

	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		mu       sync.Mutex
		maxConns = make([]int, len(c.nodes))
		samples  int
		over     []string
	)
	wg.Add(1)
	go func() { // the sampler: ground truth from go-libp2p
		defer wg.Done()
		for !stop.Load() {
			mu.Lock()
			samples++
			for i, n := range c.nodes {
				got := len(n.Host().Network().Conns())
				maxConns[i] = max(maxConns[i], got)
				if got > ceiling && len(over) < 10 {
					over = append(over, fmt.Sprintf("%s: %d connections", n.name, got))
				}
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lookups, broadcasts atomic.Int64
	for i, n := range c.nodes {
		wg.Add(1)
		go func() { // traffic: a broadcast every 100 ms, a lookup every second
			defer wg.Done()
			tx, _ := n.Channel("transaction")
			for k := 0; !stop.Load(); k++ {
				if n.Broadcast(ctx, tx, fmt.Appendf(nil, "tx %d from %d", k, i)) == nil {
					broadcasts.Add(1)
				}
				if k%10 == i%10 {
					lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
					if _, err := n.FindPeers(lctx, state.CapArchival, 20); err == nil {
						lookups.Add(1)
					}
					lcancel()
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}

	outbound := func(n *testNode) (ready int) {
		n.State(context.Background(), func(s *state.State) { ready = s.Counts().OutboundReady })
		return ready
	}
	// Under constant DHT churn a node may wait out a dial backoff or two
	// before its last outbound place fills: the bound is generous, the
	// time it took is logged. (Usually 10–26 s. Remote hosts at their
	// connection ceiling turn dials away at the gate thousands of times a
	// run, and each failure doubles that address's backoff from 10 s. In
	// full `go test ./...` runs, where the other packages' tests share the
	// two cores, that tail went past a bound of 90 s twice, and past 180 s
	// once with every candidate of one node backed off for 89 s more: the
	// rules above now cap the backoff at 20 s.)
	converge := time.Now()
	waitFor(t, 180*time.Second, func() string {
		s := "every node at its outbound target:"
		for _, n := range c.nodes {
			s += fmt.Sprintf(" %s=%d", n.name, outbound(n))
		}
		for _, n := range c.nodes {
			if outbound(n) < 3 {
				s += "\n" + whyShort(n)
			}
		}
		return s
	}, func() bool {
		for _, n := range c.nodes {
			if outbound(n) < 3 {
				return false
			}
		}
		return true
	})
	t.Logf("every node at its outbound target after %v", time.Since(converge).Round(time.Second))
	// Traffic at target: sample the outbound peers for 8 s. A node
	// replaces a peer now and then (its bootnode, once it has others; an
	// outbound connection the DHT opened that the other side refuses),
	// which takes a dial; it must spend nearly all its time at target
	// (measured: 94–100 % of the samples).
	var at, all int
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, n := range c.nodes {
			all++
			if outbound(n) >= 3 {
				at++
			}
		}
	}
	if at*100 < all*90 {
		t.Errorf("nodes were at their outbound target in %d of %d samples; want 90 %%", at, all)
	}
	t.Logf("at the outbound target in %d of %d samples", at, all)
	stop.Store(true)
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, o := range over {
		t.Error(o)
	}
	var service, refused, dialFailures uint64
	reasons := map[state.Reason]uint64{}
	for _, n := range c.nodes {
		n.State(context.Background(), func(s *state.State) {
			service += uint64(s.Counts().Service)
			dialFailures += s.Counters.DialFailures
			for r, k := range s.Counters.Disconnects {
				reasons[r] += k
			}
		})
		refused += n.GateRefused()
	}
	t.Logf("disconnects by reason %v; %d dial failures", reasons, dialFailures)
	t.Logf("%d samples per host; most connections per host %v (ceiling %d); %d lookups, %d broadcasts; %d connections refused by the gate",
		samples, maxConns, ceiling, lookups.Load(), broadcasts.Load(), refused)
	if lookups.Load() == 0 || broadcasts.Load() == 0 {
		t.Errorf("no traffic: %d lookups, %d broadcasts", lookups.Load(), broadcasts.Load())
	}
}

// whyShort describes what a node short of outbound peers has to go on:
// its peers, its address book and what became of its dials.
func whyShort(n *testNode) (out string) {
	n.State(context.Background(), func(s *state.State) {
		out = fmt.Sprintf("%s: peers", n.name)
		for _, id := range state.SortedKeys(s.Peers) {
			p := s.Peers[id]
			out += fmt.Sprintf(" [%.14s %s %s]", id, p.Dir, p.Status)
		}
		waiting, failing, next := 0, 0, int64(0)
		for _, e := range s.Discovery.Book {
			if _, peer := s.Peers[e.ID]; !peer && e.RetryAt > s.Now {
				waiting++
				if next == 0 || e.RetryAt < next {
					next = e.RetryAt
				}
			}
			if e.Failures > 0 {
				failing++
			}
		}
		first := ""
		if waiting > 0 {
			first = fmt.Sprintf(" (the first for %v more)", time.Duration(next-s.Now).Round(time.Second))
		}
		out += fmt.Sprintf("; book %d entries, %d not peers waiting out a backoff%s, %d with failures; dial failures %d; disconnects %v; remote disconnects %v",
			len(s.Discovery.Book), waiting, first, failing, s.Counters.DialFailures, s.Counters.Disconnects, s.Counters.RemoteDisconnects)
	})
	return out
}
