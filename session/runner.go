package session

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Runner is a node's application side of sessions (service.SessionApp):
// it runs each session's callback with a Conn, buffers what the state
// machine delivers to it, and reports through input what the callbacks
// do — their sends and closes (SessionSend, SessionClose), a full receive
// buffer (SessionFailed) and their end (SessionEnded).
//
// A Runner made by NewRunner runs each callback in its own goroutine, as a
// node does. One made by NewSteppedRunner runs a callback only while the
// Runner method that resumed it waits — from Open until the callback
// blocks in Receive or returns, and again from each Deliver or End that
// wakes it — so that a simulation, which calls those methods from its one
// goroutine, stays deterministic: callbacks must then block only in
// Receive and start no goroutines of their own.
type Runner struct {
	input   func(action.Action)
	stepped bool

	mu    sync.Mutex
	nets  map[string]Session
	conns map[uint64]*conn
}

var _ service.SessionApp = (*Runner)(nil)

// NewRunner returns a Runner that runs callbacks in goroutines and passes
// their actions to input (which must not block for long; a node's loop
// takes them).
func NewRunner(input func(action.Action)) *Runner {
	return &Runner{input: input, nets: map[string]Session{}, conns: map[uint64]*conn{}}
}

// NewSteppedRunner returns a Runner for a simulation (see Runner): input
// is called while a callback runs, from its goroutine, and must only
// schedule the action.
func NewSteppedRunner(input func(action.Action)) *Runner {
	r := NewRunner(input)
	r.stepped = true
	return r
}

// Register sets the callback of a session network. It reports false,
// and changes nothing, if the network has one already.
func (r *Runner) Register(network string, s Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.nets[network]; ok {
		return false
	}
	r.nets[network] = s
	return true
}

// Unregister removes the callback of a session network whose start was
// refused.
func (r *Runner) Unregister(network string) {
	r.mu.Lock()
	delete(r.nets, network)
	r.mu.Unlock()
}

// Running is the number of sessions whose callbacks the Runner holds.
func (r *Runner) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// Open starts a session's callback.
func (r *Runner) Open(c service.OpenSession) {
	r.mu.Lock()
	s := r.nets[c.Network]
	ctx, cancel := context.WithCancelCause(context.Background())
	k := &conn{r: r, id: c.ID, maxMsg: c.MaxMessage, bufMsgs: c.BufferMessages, bufBytes: c.BufferBytes,
		ctx: ctx, cancel: cancel, notify: make(chan struct{}, 1)}
	if r.stepped {
		k.resume, k.yield = make(chan struct{}), make(chan struct{})
	}
	r.conns[c.ID] = k
	r.mu.Unlock()
	go k.run(s)
	if r.stepped {
		k.step()
	}
}

// run runs the callback and reports its end.
func (k *conn) run(s Session) {
	if k.resume != nil {
		<-k.resume
	}
	outcome, text := state.SessionSuccess, ""
	func() {
		defer func() {
			if p := recover(); p != nil {
				outcome, text = state.SessionPanic, service.ErrorText(fmt.Errorf("session panicked: %v", p))
			}
		}()
		if s == nil {
			outcome, text = state.SessionFailure, "no session registered for this network"
			return
		}
		if err := s(k.ctx, k); err != nil {
			outcome, text = state.SessionFailure, service.ErrorText(err)
		}
	}()
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.r.input(action.SessionEnded{ID: k.id, Outcome: outcome, Error: text})
	if k.yield != nil {
		k.mu.Lock()
		k.done = true
		k.mu.Unlock()
		k.yield <- struct{}{}
	}
}

// Deliver hands a session its peer's message, or the peer's close. A
// message that does not fit the buffer fails the session with
// ErrBufferOverflow, which the state machine then tells the peer.
func (r *Runner) Deliver(c service.SessionDeliver) {
	r.mu.Lock()
	k := r.conns[c.ID]
	r.mu.Unlock()
	if k == nil {
		return
	}
	k.mu.Lock()
	overflow := false
	switch {
	case k.err != nil:
	case c.EOF:
		k.eof = true
	case len(k.buf)+1 > k.bufMsgs || k.bytes+len(c.Data) > k.bufBytes:
		overflow = true
		k.err, k.buf, k.bytes = ErrBufferOverflow, nil, 0
	default:
		k.buf = append(k.buf, append([]byte(nil), c.Data...))
		k.bytes += len(c.Data)
	}
	k.mu.Unlock()
	if overflow {
		k.cancel(ErrBufferOverflow)
		r.report(action.SessionFailed{ID: c.ID, Outcome: state.SessionOverflow,
			Error: fmt.Sprintf("receive buffer full (%d messages, %d bytes)", k.bufMsgs, k.bufBytes)})
	}
	k.wake()
}

// report passes on an action decided inside a Runner method, which a
// node calls from its loop: input would wait for that very loop, so a
// goroutine carries it (a stepped Runner's input only schedules).
func (r *Runner) report(a action.Action) {
	if r.stepped {
		r.input(a)
		return
	}
	go r.input(a)
}

// Close stops every session still running (their contexts end with
// ErrClosed) and forgets them: the node is closing.
func (r *Runner) Close() {
	r.mu.Lock()
	conns := r.conns
	r.conns = map[uint64]*conn{}
	r.mu.Unlock()
	for _, id := range sortedIDs(conns) {
		k := conns[id]
		k.mu.Lock()
		if k.err == nil {
			k.err = ErrClosed
		}
		k.mu.Unlock()
		k.cancel(ErrClosed)
		k.wake()
	}
}

func sortedIDs(m map[uint64]*conn) []uint64 {
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// End stops a session (its context ends with the error of the outcome) or,
// with outcome running, forgets one that is over.
func (r *Runner) End(c service.EndSession) {
	if c.ID == 0 {
		return
	}
	r.mu.Lock()
	k := r.conns[c.ID]
	if k != nil && c.Outcome == state.SessionRunning {
		delete(r.conns, c.ID)
	}
	r.mu.Unlock()
	if k == nil {
		return
	}
	err := OutcomeError(c.Outcome)
	k.mu.Lock()
	if k.err == nil {
		k.err = err
	}
	err = k.err
	k.mu.Unlock()
	k.cancel(err)
	k.wake()
}

// OutcomeError is the error a Conn returns once its session was stopped
// with outcome o.
func OutcomeError(o state.SessionOutcome) error {
	switch o {
	case state.SessionTimeout:
		return context.DeadlineExceeded
	case state.SessionOverflow:
		return ErrBufferOverflow
	case state.SessionPeerGone:
		return ErrPeerGone
	case state.SessionUnsupported:
		return ErrUnsupported
	case state.SessionOverBudget:
		return ErrOverBudget
	}
	return ErrClosed
}

// conn is a session's Conn.
type conn struct {
	r                         *Runner
	id                        uint64
	maxMsg, bufMsgs, bufBytes int
	ctx                       context.Context
	cancel                    context.CancelCauseFunc

	mu     sync.Mutex
	buf    [][]byte
	bytes  int
	eof    bool  // the peer closed its end
	closed bool  // our end is closed
	err    error // why the session was stopped
	notify chan struct{}

	// Stepped runners: the callback runs between a resume and a yield.
	resume, yield chan struct{}
	waiting, done bool
}

// step runs a stepped callback until it waits or returns.
func (k *conn) step() {
	k.resume <- struct{}{}
	<-k.yield
}

// wake tells a waiting callback that something changed.
func (k *conn) wake() {
	if k.resume == nil {
		select {
		case k.notify <- struct{}{}:
		default:
		}
		return
	}
	k.mu.Lock()
	waiting := k.waiting && !k.done
	k.mu.Unlock()
	if waiting {
		k.step()
	}
}

// wait blocks until something changes or ctx ends.
func (k *conn) wait(ctx context.Context) error {
	if k.resume == nil {
		select {
		case <-k.notify:
			return nil
		case <-k.ctx.Done():
			return nil // the caller finds k.err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	k.mu.Lock()
	k.waiting = true
	k.mu.Unlock()
	k.yield <- struct{}{}
	<-k.resume
	k.mu.Lock()
	k.waiting = false
	k.mu.Unlock()
	return nil
}

// Send queues a message for the peer.
func (k *conn) Send(ctx context.Context, msg []byte) error {
	if len(msg) > k.maxMsg {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(msg), k.maxMsg)
	}
	k.mu.Lock()
	err, closed := k.err, k.closed
	k.mu.Unlock()
	if err != nil {
		return err
	}
	if closed {
		return ErrClosed
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	k.r.input(action.SessionSend{ID: k.id, Data: append([]byte(nil), msg...)})
	return nil
}

// Receive returns the next message, waiting for it.
func (k *conn) Receive(ctx context.Context) ([]byte, error) {
	for {
		msg, ok, err := k.TryReceive()
		if ok || err != nil {
			return msg, err
		}
		if err := k.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// TryReceive returns the next message if one is buffered.
func (k *conn) TryReceive() ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.err != nil:
		return nil, false, k.err
	case len(k.buf) > 0:
		msg := k.buf[0]
		k.buf[0] = nil
		k.buf = k.buf[1:]
		k.bytes -= len(msg)
		return msg, true, nil
	case k.eof:
		return nil, false, ErrClosed
	}
	return nil, false, nil
}

// Close closes our end.
func (k *conn) Close() error {
	k.mu.Lock()
	already, stopped := k.closed, k.err != nil
	k.closed = true
	k.mu.Unlock()
	if !already && !stopped {
		k.r.input(action.SessionClose{ID: k.id})
	}
	return nil
}
