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
