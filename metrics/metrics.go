// Package metrics exports a running node's figures to Prometheus: peers by
// status and direction, actions by kind (dispatched, not enabled), how
// long reducers, effects and whole inputs took, messages and bytes per
// channel, refused messages, misbehaviour and bans.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(n))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Everything is read when Prometheus scrapes: the state's counters through
// node.Snapshot and node.Peers (one trip each through the node's
// goroutine), the times through node.Metrics (Config.Metrics must be set
// for them).
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/state"
)

const ns = "p2pcore"

var (
	peersDesc = prometheus.NewDesc(ns+"_peers", "Peers by connection status and direction (who opened the connection).",
		[]string{"status", "direction"}, nil)
	actionsDesc = prometheus.NewDesc(ns+"_actions_total", "Actions dispatched, by kind (input and derived).",
		[]string{"kind"}, nil)
	droppedDesc = prometheus.NewDesc(ns+"_actions_dropped_total", "Actions whose enabling condition was false (no-ops), by kind.",
		[]string{"kind"}, nil)
	actionSecondsDesc = prometheus.NewDesc(ns+"_action_seconds", "Time an enabled action's reducer or effects took, by kind.",
		[]string{"kind", "phase"}, nil)
	dispatchDesc = prometheus.NewDesc(ns+"_dispatch_seconds", "Time to dispatch an input: its reducer, effects and derived actions, and handing its commands to the service.",
		nil, nil)
	messagesDesc = prometheus.NewDesc(ns+"_messages_total", "Messages by channel and what happened to them: received, sent (direct), published (broadcast), refused (from peers: over budget, throttled, not admitted).",
		[]string{"channel", "outcome"}, nil)
	bytesDesc = prometheus.NewDesc(ns+"_message_bytes_total", "Message payload bytes by channel and direction (in: received; out: sent, published, requests and answers).",
		[]string{"channel", "direction"}, nil)
	offencesDesc = prometheus.NewDesc(ns+"_offences_total", "Misbehaviour scored against peers, by offence.",
		[]string{"offence"}, nil)
	bansDesc      = prometheus.NewDesc(ns+"_bans", "Entries in the ban table (peer IDs and IP addresses, manual and earned).", nil, nil)
	disconnDesc   = prometheus.NewDesc(ns+"_disconnects_total", "Connections we closed or refused, and closes peers announced (side=remote).", []string{"side"}, nil)
	handshakeDesc = prometheus.NewDesc(ns+"_handshakes_total", "Completed handshakes.", nil, nil)
	dialFailDesc  = prometheus.NewDesc(ns+"_dial_failures_total", "Failed dials.", nil, nil)
	lastIDDesc    = prometheus.NewDesc(ns+"_last_action_id", "ID of the last action dispatched (as in the action log).", nil, nil)
	bookDesc      = prometheus.NewDesc(ns+"_address_book_peers", "Peers in the address book, by table.", []string{"table"}, nil)
)

// Collector is a prometheus.Collector over one node.
type Collector struct {
	n *node.Node
	// Timeout bounds each scrape's trips through the node's goroutine.
	Timeout time.Duration
}

// NewCollector collects n's metrics.
func NewCollector(n *node.Node) *Collector { return &Collector{n: n, Timeout: 5 * time.Second} }

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{peersDesc, actionsDesc, droppedDesc, actionSecondsDesc, dispatchDesc, messagesDesc,
		bytesDesc, offencesDesc, bansDesc, disconnDesc, handshakeDesc, dialFailDesc, lastIDDesc, bookDesc} {
		ch <- d
	}
}

// Collect reads the node and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	snap, err := c.n.Snapshot(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lastIDDesc, err)
		return
	}
	counts := map[[2]string]int{}
	for _, s := range []state.Status{state.StatusConnecting, state.StatusHandshaking, state.StatusReady, state.StatusDisconnecting} {
		for _, d := range []state.Direction{state.Inbound, state.Outbound} {
			counts[[2]string{s.String(), direction(d)}] = 0
		}
	}
	for _, p := range c.n.Peers() {
		counts[[2]string{p.Status.String(), direction(p.Direction)}]++
	}
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(v), k[0], k[1])
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(bansDesc, float64(snap.Bans))
	gauge(lastIDDesc, float64(snap.ActionID))
	gauge(bookDesc, float64(snap.AddrBook-snap.AddrTried), "new")
	gauge(bookDesc, float64(snap.AddrTried), "tried")
	counter(disconnDesc, snap.Disconnects, "local")
	counter(disconnDesc, snap.RemoteDisconnects, "remote")
	counter(handshakeDesc, snap.Handshakes)
	counter(dialFailDesc, snap.DialFailures)
	names := make([]string, len(snap.Channels))
	for i, cc := range snap.Channels {
		names[i] = cc.Name
		if names[i] == "" {
			names[i] = state.Channel(i).String()
		}
		counter(messagesDesc, cc.Received, names[i], "received")
		counter(messagesDesc, cc.Sent, names[i], "sent")
		counter(messagesDesc, cc.Published, names[i], "published")
		counter(messagesDesc, cc.Refused, names[i], "refused")
	}

	m, ok := c.n.Metrics()
	if !ok {
		return
	}
	for _, k := range m.Kinds {
		kind := k.Kind.String()
		counter(actionsDesc, k.Count, kind)
		counter(droppedDesc, k.Count-k.Enabled, kind)
		if k.Enabled > 0 {
			ch <- histogram(actionSecondsDesc, k.Reduce, kind, "reducer")
			ch <- histogram(actionSecondsDesc, k.Effects, kind, "effects")
		}
	}
	ch <- histogram(dispatchDesc, m.Dispatch)
	for i := range names {
		if i < len(m.BytesIn) {
			counter(bytesDesc, m.BytesIn[i], names[i], "in")
			counter(bytesDesc, m.BytesOut[i], names[i], "out")
		}
	}
	for o, v := range m.Offences {
		counter(offencesDesc, v, o)
	}
}

// direction is the label of a peer's direction.
func direction(d state.Direction) string {
	switch d {
	case state.Inbound:
		return "inbound"
	case state.Outbound:
		return "outbound"
	}
	return "none"
}

// histogram turns a node.Timing into a Prometheus histogram: cumulative
// counts at node.TimingBuckets, in seconds.
func histogram(d *prometheus.Desc, t node.Timing, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(node.TimingBuckets))
	var cum uint64
	for i, b := range node.TimingBuckets {
		if i < len(t.Buckets) {
			cum += t.Buckets[i]
		}
		buckets[b.Seconds()] = cum
	}
	return prometheus.MustNewConstHistogram(d, t.Count, t.Total.Seconds(), buckets, labels...)
}
