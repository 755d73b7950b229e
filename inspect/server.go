package inspect

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
)

//go:embed web
var webFiles embed.FS

// maxPage bounds the rows one request may ask for.
const maxPage = 1000

// ServerOptions configure a Server.
type ServerOptions struct {
	// Token, if set, must be given with every request: as ?token= (the
	// page passes on the one it was opened with) or as "Authorization:
	// Bearer TOKEN".
	Token string
	// Timings, if set, gives the per-kind reducer and effects times of a
	// live node, shown beside the counts.
	Timings func() any
	// Reload, if set, loads the logs again (a live node's log grows).
	Reload func() ([]*Log, error)
}

// Server serves the inspector page and its JSON API over loaded logs. It
// only reads.
type Server struct {
	opts ServerOptions

	mu   sync.Mutex
	logs []*Log
	// selections caches the last filters' results, per log.
	selections map[string][]uint64
}

// NewServer serves logs.
func NewServer(logs []*Log, opts ServerOptions) *Server {
	return &Server{opts: opts, logs: logs, selections: map[string][]uint64{}}
}

// CheckListen refuses to serve on a non-loopback address without a
// token: the page shows everything a node did and whom it talked to.
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %v (want HOST:PORT, e.g. 127.0.0.1:8080)", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if token == "" {
		return fmt.Errorf("listen address %q is not a loopback address: give a --token that every request must carry", addr)
	}
	return nil
}

// Handler is the page and the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFiles, "web")
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /api/logs", s.api(s.logsInfo))
	mux.HandleFunc("GET /api/reload", s.api(s.reload))
	mux.HandleFunc("GET /api/actions", s.api(s.actions))
	mux.HandleFunc("GET /api/find", s.api(s.find))
	mux.HandleFunc("GET /api/action/{id}", s.api(s.action))
	mux.HandleFunc("GET /api/state/{id}", s.stateJSON)
	mux.HandleFunc("GET /api/stats", s.api(s.stats))
	mux.HandleFunc("GET /api/series", s.api(s.series))
	mux.HandleFunc("GET /api/follow/{id}", s.api(s.follow))
	return s.guard(mux)
}

// guard checks the token and keeps the page read-only.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token != "" {
			got := r.URL.Query().Get("token")
			if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				got = b
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) != 1 {
				http.Error(w, "a valid token is required", http.StatusUnauthorized)
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
		next.ServeHTTP(w, r)
	})
}

// badRequest is an error in the request, as opposed to in the log.
type badRequest struct{ error }

func (s *Server) api(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		if err != nil {
			code := http.StatusInternalServerError
			var br badRequest
			if errors.As(err, &br) {
				code = http.StatusBadRequest
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(v)
	}
}

// current is the logs served; a live server with none yet loads them.
func (s *Server) current() ([]*Log, error) {
	s.mu.Lock()
	logs := s.logs
	s.mu.Unlock()
	if len(logs) > 0 || s.opts.Reload == nil {
		return logs, nil
	}
	logs, err := s.opts.Reload()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.logs = logs
	s.mu.Unlock()
	return logs, nil
}

func (s *Server) log(r *http.Request) (*Log, int, []*Log, error) {
	logs, err := s.current()
	if err != nil {
		return nil, 0, nil, err
	}
	i := 0
	if v := r.URL.Query().Get("log"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n >= len(logs) {
			return nil, 0, nil, badRequest{fmt.Errorf("log %q: want 0 to %d", v, len(logs)-1)}
		}
		i = n
	}
	if len(logs) == 0 {
		return nil, 0, nil, errors.New("no log loaded")
	}
	return logs[i], i, logs, nil
}

func uintParam(r *http.Request, name string, def uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		v = r.PathValue(name)
	}
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "#"), 10, 64)
	if err != nil {
		return 0, badRequest{fmt.Errorf("%s %q: want a whole number", name, v)}
	}
	return n, nil
}

// LogInfo describes a loaded log.
type LogInfo struct {
	Index      int                     `json:"index"`
	Name       string                  `json:"name"`
	Path       string                  `json:"path"`
	Self       string                  `json:"self"`
	Network    string                  `json:"network"`
	Build      string                  `json:"build"`
	Actions    uint64                  `json:"actions"`
	Start      int64                   `json:"start"`
	End        int64                   `json:"end"`
	Verified   bool                    `json:"verified"`
	Problem    string                  `json:"problem,omitempty"`
	Divergence *replay.DivergenceError `json:"divergence,omitempty"`
	Snapshots  int                     `json:"snapshots"`
	Live       bool                    `json:"live"`
	Timings    bool                    `json:"timings"`
}

func (s *Server) logsInfo(r *http.Request) (any, error) {
	logs, err := s.current()
	if err != nil {
		return nil, err
	}
	out := make([]LogInfo, len(logs))
	for i, l := range logs {
		out[i] = LogInfo{Index: i, Name: l.Name, Path: l.Path, Self: string(l.Self()), Network: l.Header.Config.Network,
			Build: l.Header.Build, Actions: l.Len(), Start: l.Header.StartTime, Verified: l.Verified,
			Divergence: l.Divergence, Snapshots: len(l.snaps), Live: s.opts.Reload != nil, Timings: s.opts.Timings != nil}
		if n := l.Len(); n > 0 {
			out[i].End = l.times[n-1]
		}
		if l.Problem != nil {
			out[i].Problem = l.Problem.Error()
		}
	}
	return out, nil
}

func (s *Server) reload(r *http.Request) (any, error) {
	if s.opts.Reload == nil {
		return nil, badRequest{errors.New("these logs are not live")}
	}
	logs, err := s.opts.Reload()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.logs, s.selections = logs, map[string][]uint64{}
	s.mu.Unlock()
	return s.logsInfo(r)
}

func filterOf(r *http.Request) Filter {
	q := r.URL.Query()
	f := Filter{Peer: q.Get("peer"), Type: q.Get("type"), Text: q.Get("q")}
	for _, k := range strings.Split(q.Get("kind"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			f.Kinds = append(f.Kinds, k)
		}
	}
	return f
}

// selection is the IDs a filter keeps (nil: every action), cached.
func (s *Server) selection(l *Log, li int, f Filter) ([]uint64, error) {
	if f.Empty() {
		return nil, nil
	}
	key := strconv.Itoa(li) + "\x00" + f.key()
	s.mu.Lock()
	ids, ok := s.selections[key]
	s.mu.Unlock()
	if ok {
		return ids, nil
	}
	ids, err := l.Select(f)
	if err != nil {
		return nil, badRequest{err}
	}
	s.mu.Lock()
	if len(s.selections) >= 16 {
		clear(s.selections)
	}
	s.selections[key] = ids
	s.mu.Unlock()
	return ids, nil
}

// Page is a page of the timeline.
type Page struct {
	Total uint64 `json:"total"`
	From  uint64 `json:"from"`
	Rows  []Row  `json:"rows"`
}

func (s *Server) actions(r *http.Request) (any, error) {
	l, li, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	from, err := uintParam(r, "from", 0)
	if err != nil {
		return nil, err
	}
	n, err := uintParam(r, "n", 100)
	if err != nil {
		return nil, err
	}
	n = min(n, maxPage)
	ids, err := s.selection(l, li, filterOf(r))
	if err != nil {
		return nil, err
	}
	f := filterOf(r)
	total := l.Len()
	if !f.Empty() {
		total = uint64(len(ids))
	}
	p := Page{Total: total, From: from, Rows: []Row{}}
	for i := from; i < total && i < from+n; i++ {
		id := i + 1
		if !f.Empty() {
			id = ids[i]
		}
		p.Rows = append(p.Rows, l.Row(id))
	}
	return p, nil
}

// find is the row of the timeline at which action id (or the first kept
// action after it) stands.
func (s *Server) find(r *http.Request) (any, error) {
	l, li, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	id, err := uintParam(r, "id", 1)
	if err != nil {
		return nil, err
	}
	f := filterOf(r)
	ids, err := s.selection(l, li, f)
	if err != nil {
		return nil, err
	}
	if f.Empty() {
		return map[string]uint64{"row": min(max(id, 1), max(l.Len(), 1)) - 1}, nil
	}
	lo, hi := 0, len(ids)
	for lo < hi {
		m := (lo + hi) / 2
		if ids[m] < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return map[string]int{"row": min(lo, max(len(ids)-1, 0))}, nil
}

// Detail is one action in full.
type Detail struct {
	Row
	Full     string   `json:"full"`
	ParentOf *Row     `json:"parent_row,omitempty"`
	Children []Row    `json:"children"`
	Cmds     []string `json:"cmds"`
	Diff     string   `json:"diff"`
	Replayed uint64   `json:"replayed"`
	Millis   float64  `json:"ms"`
	// Group is the input that led to the action and everything it
	// caused, each with its parent and commands: the page draws it as a
	// tree.
	Group []GroupRow `json:"group"`
}

// GroupRow is one action of an input's group.
type GroupRow struct {
	ID      uint64   `json:"id"`
	Parent  uint64   `json:"parent"`
	Kind    string   `json:"kind"`
	Text    string   `json:"text"`
	Dropped bool     `json:"dropped,omitempty"`
	Cmds    []string `json:"cmds,omitempty"`
}

func (s *Server) action(r *http.Request) (any, error) {
	l, _, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	id, err := uintParam(r, "id", 0)
	if err != nil {
		return nil, err
	}
	if id == 0 || id > l.Len() {
		return nil, badRequest{fmt.Errorf("no action #%d in %s (it has #1 to #%d)", id, l.Name, l.Len())}
	}
	start := time.Now()
	p, err := l.At(id)
	if err != nil {
		return nil, err
	}
	d := Detail{Row: l.Row(id), Full: l.names.Format(p.Action), Children: []Row{}, Cmds: []string{},
		Diff: replay.Diff(p.Before, p.After), Replayed: p.Replayed}
	if par := l.parents[id-1]; par != 0 {
		row := l.Row(par)
		d.ParentOf = &row
	}
	for _, c := range l.Children(id) {
		d.Children = append(d.Children, l.Row(c))
	}
	for _, c := range p.Commands {
		d.Cmds = append(d.Cmds, service.FormatCommandNamed(c, l.names))
	}
	d.Group = []GroupRow{}
	for _, g := range p.Group {
		row := GroupRow{ID: g.Meta.ID, Parent: g.Meta.Parent, Kind: g.Action.Kind().String(), Text: l.Text(g.Meta.ID), Dropped: g.Dropped}
		for _, c := range g.Commands {
			row.Cmds = append(row.Cmds, service.FormatCommandNamed(c, l.names))
		}
		d.Group = append(d.Group, row)
	}
	d.Millis = float64(time.Since(start).Microseconds()) / 1000
	return d, nil
}

func (s *Server) stateJSON(w http.ResponseWriter, r *http.Request) {
	l, _, _, err := s.log(r)
	var b []byte
	if err == nil {
		var id uint64
		if id, err = uintParam(r, "id", 0); err == nil {
			if id > l.Len() {
				err = badRequest{fmt.Errorf("no action #%d in %s", id, l.Name)}
			} else {
				st, serr := l.StateAt(id)
				if err = serr; err == nil {
					b, err = replay.StateJSON(st, r.URL.Query().Get("path"))
					if err != nil {
						err = badRequest{err}
					}
				}
			}
		}
	}
	if err != nil {
		code := http.StatusInternalServerError
		var br badRequest
		if errors.As(err, &br) {
			code = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Server) stats(r *http.Request) (any, error) {
	l, _, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"kinds": l.Stats()}
	if s.opts.Timings != nil {
		out["timings"] = s.opts.Timings()
	}
	return out, nil
}

func (s *Server) series(r *http.Request) (any, error) {
	l, _, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	return l.Series(), nil
}

func (s *Server) follow(r *http.Request) (any, error) {
	_, li, logs, err := s.log(r)
	if err != nil {
		return nil, err
	}
	id, err := uintParam(r, "id", 0)
	if err != nil {
		return nil, err
	}
	b, err := Follow(logs, li, id)
	if err != nil {
		return nil, badRequest{err}
	}
	return b, nil
}
