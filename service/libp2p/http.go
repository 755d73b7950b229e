package libp2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	libp2phttp "github.com/libp2p/go-libp2p/p2p/http"
	"github.com/libp2p/go-libp2p/p2p/net/gostream"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// HTTP over libp2p streams (go-libp2p's p2p/http: protocol /http/1.1 and
// the well-known protocol map). Our handlers are standard http.Handlers;
// each exchange, ours or a peer's, is reported as HTTPExchanged (method,
// path, status, bytes, duration; no bodies). The client side opens a
// stream only on a connection the state machine already has — it never
// dials — and must have the response header within
// Rules.HTTPStreamTimeout (go-algorand hung on catchpoint downloads
// without such a bound); the rate limit is the state machine's, asked by
// the node before each request.

// HTTPProtocol names p2pcore's HTTP service in the well-known protocol map.
func HTTPProtocol(network string) protocol.ID { return protocol.ID("/p2pcore/" + network + "/http/1") }

// maxLoggedPath bounds the path and method an exchange records: a peer
// chooses them, and must not grow the log.
const (
	maxLoggedPath   = 256
	maxLoggedMethod = 16
)

// httpServer is the server side: an http.Server on the /http/1.1
// streams of our host (go-libp2p's gostream listener), the same protocol
// and well-known resource as go-libp2p's p2p/http, with the limits a
// server open to any peer needs: the request header within
// HTTPStreamTimeout and at most maxHeaderBytes of it.
type httpServer struct {
	mu     sync.Mutex
	mux    *http.ServeMux
	srv    *http.Server
	closed bool
}

// maxHeaderBytes bounds a peer's request header.
const maxHeaderBytes = 16 << 10

// httpPeerKey carries the caller's peer ID in a request's context.
type httpPeerKey struct{}

// HTTPPeer is the peer that sent r, in a handler set with HandleHTTP.
func HTTPPeer(r *http.Request) state.PeerID {
	if id, ok := r.Context().Value(httpPeerKey{}).(peer.ID); ok {
		return state.PeerID(id.String())
	}
	return ""
}

// HandleHTTP serves handler for pattern (http.ServeMux patterns) to peers,
// over libp2p streams; HTTPPeer tells it who is asking. The first call
// starts the server.
func (s *Service) HandleHTTP(pattern string, handler http.Handler) error {
	s.http.mu.Lock()
	defer s.http.mu.Unlock()
	if s.http.closed {
		return errors.New("the service is shut down")
	}
	if s.http.srv == nil {
		ln, err := gostream.Listen(s.h, libp2phttp.ProtocolIDForMultistreamSelect)
		if err != nil {
			return fmt.Errorf("http over libp2p: %w", err)
		}
		s.http.mux = http.NewServeMux()
		wk := &libp2phttp.WellKnownHandler{}
		wk.AddProtocolMeta(HTTPProtocol(s.cfg.Network), libp2phttp.ProtocolMeta{Path: "/"})
		s.http.mux.Handle(libp2phttp.WellKnownProtocols, wk)
		s.http.srv = &http.Server{
			Handler:           s.http.mux,
			ReadHeaderTimeout: s.cfg.Rules.HTTPStreamTimeout,
			IdleTimeout:       s.cfg.Rules.HTTPStreamTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slogLogger(s.log),
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				if a := c.RemoteAddr(); a.Network() == gostream.Network {
					if id, err := peer.Decode(a.String()); err == nil {
						return context.WithValue(ctx, httpPeerKey{}, id)
					}
				}
				return ctx
			},
		}
		srv := s.http.srv
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http over libp2p stopped", "err", err)
			}
		}()
	}
	// ServeMux panics on a bad or duplicate pattern: an error instead.
	return registerPattern(s.http.mux, pattern, s.recordHandler(handler))
}

func registerPattern(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("http pattern %q: %v", pattern, r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// closeHTTP stops the server side.
func (s *Service) closeHTTP() {
	s.http.mu.Lock()
	defer s.http.mu.Unlock()
	s.http.closed = true
	if s.http.srv != nil {
		s.http.srv.Close()
	}
}

// statusWriter remembers a handler's status and counts its body.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader remembers the first status.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the body (an implicit 200 if no status came first).
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// recordHandler reports each exchange a peer has with handler.
func (s *Service) recordHandler(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			ev := action.HTTPExchanged{
				Peer: HTTPPeer(r), Inbound: true,
				Method: clip(r.Method, maxLoggedMethod), Path: clip(r.URL.Path, maxLoggedPath),
				Status: sw.status, Bytes: sw.bytes, Duration: time.Since(start),
			}
			if rec := recover(); rec != nil {
				ev.Error = service.ErrorText(fmt.Errorf("handler panicked: %v", rec))
				s.report(ev)
				panic(http.ErrAbortHandler) // net/http closes the stream quietly
			}
			if s.ctx.Err() == nil {
				s.report(ev)
			}
		}()
		handler.ServeHTTP(sw, r)
	})
}

// clip cuts s to at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return service.ErrorText(errors.New(s))
}

// HTTPRoundTrip sends one HTTP request to a connected peer over a new
// /http/1.1 stream and reports the exchange when its body is closed. It
// never dials: a peer we are not connected to is an error.
func (s *Service) HTTPRoundTrip(id state.PeerID, r *http.Request) (*http.Response, error) {
	p, err := exactID(id)
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	// A RoundTripper must not change the caller's request.
	r = r.Clone(r.Context())
	start := time.Now()
	ev := action.HTTPExchanged{Peer: id, Method: clip(r.Method, maxLoggedMethod), Path: clip(r.URL.Path, maxLoggedPath)}
	fail := func(err error) (*http.Response, error) {
		ev.Error, ev.Duration = service.ErrorText(err), time.Since(start)
		if r.Body != nil {
			r.Body.Close()
		}
		s.report(ev)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Rules.HTTPStreamTimeout)
	ctx = network.WithNoDial(ctx, "p2pcore: HTTP goes over connections the state machine keeps")
	st, err := s.h.NewStream(ctx, p, libp2phttp.ProtocolIDForMultistreamSelect)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("opening an HTTP stream to %s: %w", id.Short(), err))
	}
	r.Header.Set("Connection", "close")
	go func() {
		defer st.CloseWrite()
		r.Write(st)
		if r.Body != nil {
			r.Body.Close()
		}
	}()
	// The response header must come within HTTPStreamTimeout too: a
	// peer that takes the stream and never answers must not hold the
	// caller for ever (go-algorand's catchpoint downloads hung so). The
	// body then has the caller's deadline, if any.
	headerBy := time.Now().Add(s.cfg.Rules.HTTPStreamTimeout)
	callerBy, hasDeadline := r.Context().Deadline()
	if hasDeadline && callerBy.Before(headerBy) {
		headerBy = callerBy
	}
	st.SetReadDeadline(headerBy)
	// Stop a request whose caller gave up without a deadline.
	stop := context.AfterFunc(r.Context(), func() { st.Reset() })
	resp, err := http.ReadResponse(bufio.NewReader(st), r)
	if err != nil {
		stop()
		st.Reset()
		return fail(fmt.Errorf("no response from %s within %v: %w", id.Short(), s.cfg.Rules.HTTPStreamTimeout, err))
	}
	if hasDeadline {
		st.SetReadDeadline(callerBy)
	} else {
		st.SetReadDeadline(time.Time{})
	}
	ev.Status = resp.StatusCode
	resp.Body = &countingBody{ReadCloser: resp.Body, done: func(n int64, err error) {
		stop()
		st.Close()
		ev.Bytes, ev.Duration = n, time.Since(start)
		if err != nil && !errors.Is(err, io.EOF) {
			ev.Error = service.ErrorText(err)
		}
		if s.ctx.Err() == nil {
			s.report(ev)
		}
	}}
	return resp, nil
}

// countingBody counts a response body and calls done once, at its end or
// when it is closed.
type countingBody struct {
	io.ReadCloser
	n     int64
	ended atomic.Bool
	done  func(n int64, err error)
}

// Read counts what the caller reads; its end reports the exchange.
func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && b.ended.CompareAndSwap(false, true) {
		b.done(b.n, err)
	}
	return n, err
}

// Close reports the exchange if its end did not.
func (b *countingBody) Close() error {
	err := b.ReadCloser.Close()
	if b.ended.CompareAndSwap(false, true) {
		b.done(b.n, nil)
	}
	return err
}

// HTTPGrant hands the state machine's decision on one of our HTTP
// requests to whoever asked (the node).
func (s *Service) HTTPGrant(c service.HTTPGrant) {
	if s.cfg.Grant != nil {
		s.cfg.Grant(c)
	}
}

var _ service.HTTPService = (*Service)(nil)

// slogLogger routes net/http's own messages (a peer's malformed request,
// a handler's panic) to the service's logger at debug level.
func slogLogger(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelDebug)
}
