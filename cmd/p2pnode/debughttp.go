package main

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/p2pcore/p2pcore/inspect"
	"github.com/p2pcore/p2pcore/metrics"
	"github.com/p2pcore/p2pcore/node"
)

// serveDebug serves, on addr, the node's Prometheus metrics (/metrics),
// Go's profiler (/debug/pprof/) and the inspector over the node's action
// log (/, when it records one), all read-only. Profiles and the log show
// what a node holds and whom it talks to: addr must be a loopback address
// unless a token is given, which every request must then carry.
func serveDebug(addr, token string, n *node.Node, record string) (func(), error) {
	if err := inspect.CheckListen(addr, token); err != nil {
		return nil, fmt.Errorf("--http: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http %q: %v", addr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(n), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if record != "" {
		reload := func() ([]*inspect.Log, error) {
			l, err := inspect.Load(record, inspect.Options{})
			if err != nil {
				return nil, err
			}
			return []*inspect.Log{l}, nil
		}
		srv := inspect.NewServer(nil, inspect.ServerOptions{Token: token, Reload: reload, Timings: func() any { return timingsOf(n) }})
		mux.Handle("/", srv.Handler())
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintln(w, "p2pnode: /metrics, /debug/pprof/; the inspector needs an action log (--record FILE)")
		})
	}
	srv := &http.Server{Handler: requireToken(token, mux), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// requireToken refuses requests without the token, when there is one.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.URL.Query().Get("token")
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = b
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			http.Error(w, "a valid token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// kindTiming is one kind's row of the inspector's statistics.
type kindTiming struct {
	Kind          string   `json:"kind"`
	Count         uint64   `json:"count"`
	ReduceMeanNS  int64    `json:"reduce_mean_ns"`
	ReduceMaxNS   int64    `json:"reduce_max_ns"`
	EffectsMeanNS int64    `json:"effects_mean_ns"`
	EffectsMaxNS  int64    `json:"effects_max_ns"`
	Histogram     []uint64 `json:"histogram"`
}

// timingsOf is what the inspector shows of the node's Metrics: per kind,
// reducer and effects times, and a histogram of the two together.
func timingsOf(n *node.Node) any {
	m, ok := n.Metrics()
	if !ok {
		return nil
	}
	var buckets []string
	for _, b := range node.TimingBuckets {
		buckets = append(buckets, "≤"+b.String())
	}
	buckets = append(buckets, ">"+node.TimingBuckets[len(node.TimingBuckets)-1].String())
	out := struct {
		Buckets []string     `json:"buckets"`
		Kinds   []kindTiming `json:"kinds"`
	}{Buckets: buckets, Kinds: []kindTiming{}}
	for _, k := range m.Kinds {
		h := k.Total.Buckets
		if h == nil {
			h = make([]uint64, len(buckets))
		}
		out.Kinds = append(out.Kinds, kindTiming{Kind: k.Kind.String(), Count: k.Enabled,
			ReduceMeanNS: int64(k.Reduce.Mean()), ReduceMaxNS: int64(k.Reduce.Max),
			EffectsMeanNS: int64(k.Effects.Mean()), EffectsMaxNS: int64(k.Effects.Max), Histogram: h})
	}
	return out
}
