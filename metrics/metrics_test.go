package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/p2pcore/p2pcore/metrics"
	"github.com/p2pcore/p2pcore/node"
)

// startNode starts a real node on 127.0.0.1 with metrics on.
func startNode(t *testing.T, boot ...string) *node.Node {
	t.Helper()
	n, err := node.New(node.Config{Network: "metrics-test", Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		DataDir: t.TempDir(), Bootstrap: boot, Metrics: true, TickInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// scrape serves n's metrics on a real socket, fetches them and parses them
// with Prometheus's own text parser.
func scrape(t *testing.T, n *node.Node) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(n))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the text parser refuses /metrics: %v", err)
	}
	return fams
}

// value is the value of the family's metric whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

func TestMetricsOfARunningNodeParse(t *testing.T) {
	a := startNode(t)
	b := startNode(t, a.Addrs()[0])
	deadline := time.Now().Add(20 * time.Second)
	for len(a.ReadyPeers()) == 0 || len(b.ReadyPeers()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the two nodes did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ch, ok := b.Channel("transaction")
	if !ok {
		t.Fatal("no transaction channel")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 20 {
		if err := b.Broadcast(ctx, ch, []byte{byte(i), 1, 2, 3, 4, 5, 6, 7}); err != nil {
			t.Fatal(err)
		}
	}
	// The broadcasts reach a through GossipSub; wait for its counters:
	// the service counts the bytes as it reads them, the state machine
	// the messages once it has taken them, a moment later.
	var fa map[string]*dto.MetricFamily
	for {
		fa = scrape(t, a)
		bytes, _ := value(fa, "p2pcore_message_bytes_total", map[string]string{"channel": "transaction", "direction": "in"})
		msgs, _ := value(fa, "p2pcore_messages_total", map[string]string{"channel": "transaction", "outcome": "received"})
		if bytes >= 160 && msgs >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a never counted the 20 messages (160 bytes) b broadcast")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fb := scrape(t, b)

	for _, c := range []struct {
		fams   map[string]*dto.MetricFamily
		name   string
		labels map[string]string
		min    float64
	}{
		{fa, "p2pcore_peers", map[string]string{"status": "ready", "direction": "inbound"}, 1},
		{fb, "p2pcore_peers", map[string]string{"status": "ready", "direction": "outbound"}, 1},
		{fb, "p2pcore_actions_total", map[string]string{"kind": "Tick"}, 1},
		{fb, "p2pcore_actions_total", map[string]string{"kind": "BroadcastMessage"}, 20},
		{fb, "p2pcore_action_seconds", map[string]string{"kind": "BroadcastMessage", "phase": "reducer"}, 20},
		{fb, "p2pcore_action_seconds", map[string]string{"kind": "BroadcastMessage", "phase": "effects"}, 20},
		{fb, "p2pcore_dispatch_seconds", nil, 20},
		{fb, "p2pcore_message_bytes_total", map[string]string{"channel": "transaction", "direction": "out"}, 160},
		{fb, "p2pcore_messages_total", map[string]string{"channel": "transaction", "outcome": "published"}, 20},
		{fa, "p2pcore_messages_total", map[string]string{"channel": "transaction", "outcome": "received"}, 20},
		{fa, "p2pcore_handshakes_total", nil, 1},
	} {
		v, found := value(c.fams, c.name, c.labels)
		if !found || v < c.min {
			t.Errorf("%s%v = %v (found %v), want at least %v", c.name, c.labels, v, found, c.min)
		}
	}
	for _, name := range []string{"p2pcore_actions_dropped_total", "p2pcore_bans", "p2pcore_disconnects_total", "p2pcore_last_action_id"} {
		if fb[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if h := fb["p2pcore_dispatch_seconds"]; h == nil || h.GetType() != dto.MetricType_HISTOGRAM || len(h.Metric[0].Histogram.Bucket) != len(node.TimingBuckets)+1 {
		t.Errorf("p2pcore_dispatch_seconds is not a histogram with %d buckets and +Inf: %v", len(node.TimingBuckets), h)
	}
}
