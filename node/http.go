package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// HTTP over libp2p. Handlers are standard http.Handlers served on libp2p
// streams; the client is an *http.Client bound to one peer. Before each
// request the client asks the state machine (HTTPAsk), whose reducer
// applies the per-peer rate limit (state.Config.HTTPRateLimit per
// HTTPRateWindow) and answers at once, after a wait for the next window,
// or with ErrQueueingTimeout after HTTPQueueTimeout. Every exchange is
// recorded (HTTPExchanged: peer, method, path, status, bytes, duration).

// Errors of the HTTP client.
var (
	// ErrQueueingTimeout: the request waited state.Config.HTTPQueueTimeout
	// for room in the peer's rate-limit window.
	ErrQueueingTimeout = errors.New("http over libp2p: queueing timeout (the peer's rate limit)")
	// ErrOtherHost: the client is bound to one peer and the URL names
	// another host.
	ErrOtherHost = errors.New("http over libp2p: the URL's host is not the client's peer")
)

// HandleHTTP serves handler for pattern (as http.ServeMux patterns) to
// peers over libp2p streams. HTTPPeer(r) tells the handler who is asking.
func (n *Node) HandleHTTP(pattern string, handler http.Handler) error {
	if n.svc == nil {
		return ErrNotStarted
	}
	return n.svc.HandleHTTP(pattern, handler)
}

// HTTPPeer is the peer that sent r, in a handler set with HandleHTTP.
func HTTPPeer(r *http.Request) state.PeerID { return p2p.HTTPPeer(r) }

// HTTPClient returns an HTTP client for one ready peer. URLs name the
// peer as their host — http://<peer ID>/path — and a URL naming any other
// host is refused (ErrOtherHost). A request fails with reducer.ErrNotReady
// unless the peer is ready (the client never opens a connection of its
// own), with ErrQueueingTimeout when the peer's rate limit kept it waiting
// too long, and when opening its stream and getting the response header
// take longer than state.Config.HTTPStreamTimeout.
func (n *Node) HTTPClient(peer state.PeerID) *http.Client {
	return &http.Client{
		Transport: &peerTransport{n: n, peer: peer},
		// A redirect could only lead to the same peer; others are refused
		// by the transport anyway.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// peerTransport is the RoundTripper of HTTPClient.
type peerTransport struct {
	n    *Node
	peer state.PeerID
}

// tickets numbers HTTPAsk across the process, so that tickets never repeat.
var tickets atomic.Uint64

// RoundTrip refuses other hosts, waits for the state machine's leave
// and sends the request on its own stream.
func (t *peerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	fail := func(err error) (*http.Response, error) {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	if r.URL.Host != string(t.peer) {
		return fail(fmt.Errorf("%w: %q (this client talks to %s only)", ErrOtherHost, r.URL.Host, t.peer))
	}
	if err := t.n.askHTTP(r.Context(), t.peer); err != nil {
		return fail(err)
	}
	return t.n.svc.HTTPRoundTrip(t.peer, r)
}

// askHTTP waits for the state machine's leave to send one request.
func (n *Node) askHTTP(ctx context.Context, peer state.PeerID) error {
	if n.svc == nil {
		return ErrNotStarted
	}
	ticket := tickets.Add(1)
	grant := make(chan bool, 1)
	var err error
	if derr := n.do(ctx, func() {
		// Waiting before the dispatch: a grant may come within it.
		n.httpWaits[ticket] = grant
		if err = n.dispatch(action.HTTPAsk{Peer: peer, Ticket: ticket}); err != nil {
			delete(n.httpWaits, ticket)
		}
	}); derr != nil {
		return derr
	}
	if err != nil {
		return err
	}
	select {
	case ok := <-grant:
		if !ok {
			return ErrQueueingTimeout
		}
		return nil
	case <-ctx.Done():
		n.do(context.Background(), func() {
			if _, waiting := n.httpWaits[ticket]; waiting {
				delete(n.httpWaits, ticket)
				n.dispatch(action.HTTPCancel{Peer: peer, Ticket: ticket})
			}
		})
		return ctx.Err()
	case <-n.loopDone:
		return ErrClosed
	}
}

// granted hands the state machine's answer to the request waiting for it
// (service.HTTPGrant, in the loop).
func (n *Node) granted(c service.HTTPGrant) {
	if g, ok := n.httpWaits[c.Ticket]; ok {
		delete(n.httpWaits, c.Ticket)
		g <- c.OK
	}
}
