package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/state"
)

// Errors of Request. A request that is too large for its channel, or to a
// peer that does not have the channel, fails with reducer.ErrTooLarge or
// reducer.ErrNotShared before it is sent.
var (
	// ErrTimeout: no response within state.Config.RequestTimeout.
	ErrTimeout = errors.New("request timed out")
	// ErrPeerGone: the peer disconnected before answering, or the request
	// could not be written to it.
	ErrPeerGone = errors.New("the peer left before answering")
	// ErrRefused: the peer has no handler for the channel, or its handler
	// returned an error.
	ErrRefused = errors.New("the peer refused the request")
	// ErrBusy: too many requests are outstanding with the peer, on our
	// side (state.Config.MaxRequestsPerPeer) or on its side.
	ErrBusy = reducer.ErrBusy
	// ErrTooLarge: the request, or the peer's answer, exceeds the
	// channel's MaxSize.
	ErrTooLarge = reducer.ErrTooLarge
)

// A Handler answers requests from peers on a request channel. It runs in
// its own goroutine, at most state.Config.MaxRequestsPerPeer at once per
// peer; ctx ends after half of state.Config.RequestTimeout (so that the
// answer reaches the peer within the whole) or when the node closes. An
// error (or a panic) refuses the request: the peer gets ErrRefused. An
// answer larger than the channel's MaxSize is not sent: the peer gets
// ErrTooLarge. The answer is the node's once returned: the handler must
// not change it afterwards (it is sent, and recorded, a moment later).
type Handler func(ctx context.Context, from state.PeerID, req []byte) ([]byte, error)

// handlers are the application's request handlers, by channel.
type handlers struct {
	mu sync.Mutex
	by [state.MaxChannels]Handler
}

// Handle sets the handler of a request channel (nil removes it). Requests
// on a channel without a handler are refused.
func (n *Node) Handle(ch state.Channel, h Handler) error {
	if !n.rules.HasChannel(ch) || n.rules.Channels[ch].Kind != state.Request {
		return fmt.Errorf("%w: %s", reducer.ErrNotRequest, n.rules.ChannelName(ch))
	}
	n.handlers.mu.Lock()
	n.handlers.by[ch] = h
	n.handlers.mu.Unlock()
	return nil
}

// requestResult is how one of our requests ended.
type requestResult struct {
	status state.RequestStatus
	data   []byte
}

// Request sends req to a ready peer on a request channel and waits for
// its answer: the response, or ErrTimeout, ErrPeerGone, ErrRefused,
// ErrBusy or ErrTooLarge; or ctx's error if ctx ends first (the request
// itself then runs to its timeout, and its answer is dropped).
func (n *Node) Request(ctx context.Context, peer state.PeerID, ch state.Channel, req []byte) ([]byte, error) {
	if err := n.checkSize(ch, req); err != nil {
		return nil, err
	}
	a := action.SendRequest{Peer: peer, Channel: ch, Data: append([]byte(nil), req...)}
	res := make(chan requestResult, 1)
	var id uint64
	var err error
	if derr := n.do(ctx, func() {
		if err = n.dispatch(a); err == nil {
			id = n.st.State().Requests.NextID
			n.pending[id] = res
		}
	}); derr != nil {
		return nil, derr
	}
	if err != nil {
		return nil, err
	}
	select {
	case r := <-res:
		return r.data, requestError(r.status)
	case <-ctx.Done():
		n.do(context.Background(), func() { delete(n.pending, id) })
		select {
		case r := <-res: // answered while we were giving up
			return r.data, requestError(r.status)
		default:
			return nil, ctx.Err()
		}
	case <-n.loopDone:
		return nil, ErrClosed
	}
}

// requestError is the error of a request's outcome.
func requestError(st state.RequestStatus) error {
	switch st {
	case state.RequestOK:
		return nil
	case state.RequestRefused:
		return ErrRefused
	case state.RequestBusy:
		return fmt.Errorf("%w: the peer is answering as many of our requests as it allows", ErrBusy)
	case state.RequestTooLarge:
		return fmt.Errorf("%w: the peer's answer", ErrTooLarge)
	case state.RequestTimeout:
		return ErrTimeout
	case state.RequestPeerGone:
		return ErrPeerGone
	}
	return fmt.Errorf("request ended with status %s", st)
}

// complete hands one of our requests its outcome (service.Complete, in
// the loop).
func (n *Node) complete(id uint64, st state.RequestStatus, data []byte) {
	if res, ok := n.pending[id]; ok {
		delete(n.pending, id)
		res <- requestResult{status: st, data: data}
	}
}

// serve runs the channel's handler on a peer's request (service.Serve, in
// the loop) and answers with what it returns, as an input like any other.
func (n *Node) serve(peer state.PeerID, ch state.Channel, id uint64, data []byte) {
	n.handlers.mu.Lock()
	h := n.handlers.by[ch]
	n.handlers.mu.Unlock()
	go func() {
		answer := action.SendResponse{Peer: peer, Channel: ch, ID: id, Status: state.RequestRefused}
		if h != nil {
			// The state machine waits half of RequestTimeout for the
			// answer (see state.InRequest).
			ctx, cancel := context.WithTimeout(n.handlerCtx, n.rules.RequestTimeout/2)
			resp, err := callHandler(ctx, h, peer, data)
			cancel()
			if err == nil {
				answer.Status, answer.Data = state.RequestOK, resp
			} else {
				n.log.Debug("request refused by its handler", "peer", peer, "channel", n.rules.ChannelName(ch), "err", err)
			}
		}
		n.sink(answer)
	}()
}

// callHandler runs h, turning a panic into an error.
func callHandler(ctx context.Context, h Handler, peer state.PeerID, data []byte) (resp []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(ctx, peer, data)
}
