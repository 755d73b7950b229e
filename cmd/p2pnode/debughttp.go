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
		mux.Handle("/", inspect.NewServer(nil, inspect.LiveOptions(n, record, token)).Handler())
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
