package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/session"
	"github.com/p2pcore/p2pcore/state"
)

// inputs collects what a Runner reports.
type inputs struct {
	mu  sync.Mutex
	got []action.Action
	ch  chan action.Action
}

func newInputs() *inputs { return &inputs{ch: make(chan action.Action, 100)} }

func (in *inputs) add(a action.Action) {
	in.mu.Lock()
	in.got = append(in.got, a)
	in.mu.Unlock()
	in.ch <- a
}

// next waits for the next reported action.
func (in *inputs) next(t *testing.T) action.Action {
	t.Helper()
	select {
	case a := <-in.ch:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("no action reported")
		return nil
	}
}

func open(r *session.Runner, id uint64, network string, msgs, bytes int) {
	r.Open(service.OpenSession{ID: id, Peer: "P", Network: network, Timeout: time.Minute,
		BufferMessages: msgs, BufferBytes: bytes, MaxMessage: 8})
}

// TestReceiveAfterPeerClose: the peer's close is seen after the messages
// it sent before, as ErrClosed; TryReceive does not wait.
func TestReceiveAfterPeerClose(t *testing.T) {
	in := newInputs()
	r := session.NewRunner(in.add)
	results := make(chan []any, 1)
	r.Register("n", func(ctx context.Context, c session.Conn) error {
		msg, ok, err := c.TryReceive()
		out := []any{msg, ok, err}
		for range 3 {
			msg, err := c.Receive(ctx)
			out = append(out, string(msg), err)
		}
		results <- out
		return nil
	})
	open(r, 1, "n", 4, 100)
	r.Deliver(service.SessionDeliver{ID: 1, Data: []byte("a")})
	r.Deliver(service.SessionDeliver{ID: 1, Data: []byte("b")})
	r.Deliver(service.SessionDeliver{ID: 1, EOF: true})
	got := <-results
	// TryReceive may or may not have seen "a" (the callback raced the
	// deliveries); what Receive returns after it must follow in order.
	rest := got[3:]
	if got[1] == true {
		if got[0].([]byte)[0] != 'a' || rest[0] != "b" || rest[1] != nil || !errors.Is(rest[3].(error), session.ErrClosed) {
			t.Fatalf("got %v", got)
		}
	} else if rest[0] != "a" || rest[2] != "b" || !errors.Is(rest[5].(error), session.ErrClosed) {
		t.Fatalf("got %v", got)
	}
	if a := in.next(t); a != (action.SessionEnded{ID: 1, Outcome: state.SessionSuccess}) {
		t.Fatalf("reported %v", action.Format(a))
	}
}

// TestBufferOverflow: a message that does not fit fails the session with
// ErrBufferOverflow and is reported, never dropped silently.
func TestBufferOverflow(t *testing.T) {
	for _, tc := range []struct {
		name        string
		msgs, bytes int
		sizes       []int
	}{
		{"messages", 2, 100, []int{1, 1, 1}},
		{"bytes", 10, 10, []int{8, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInputs()
			r := session.NewRunner(in.add)
			release := make(chan struct{})
			errs := make(chan error, 1)
			r.Register("n", func(ctx context.Context, c session.Conn) error {
				<-release
				_, err := c.Receive(ctx)
				errs <- err
				errs <- c.Send(ctx, []byte("x"))
				return err
			})
			open(r, 7, "n", tc.msgs, tc.bytes)
			for _, n := range tc.sizes {
				r.Deliver(service.SessionDeliver{ID: 7, Data: make([]byte, n)})
			}
			a := in.next(t)
			if f, ok := a.(action.SessionFailed); !ok || f.ID != 7 || f.Outcome != state.SessionOverflow {
				t.Fatalf("reported %s, want an overflow", action.Format(a))
			}
			close(release)
			if err := <-errs; !errors.Is(err, session.ErrBufferOverflow) {
				t.Fatalf("Receive: %v", err)
			}
			if err := <-errs; !errors.Is(err, session.ErrBufferOverflow) {
				t.Fatalf("Send: %v", err)
			}
			if a := in.next(t).(action.SessionEnded); a.Outcome != state.SessionFailure {
				t.Fatalf("ended %v", a)
			}
		})
	}
}

// TestSendAndClose: Send becomes SessionSend, one over the limit fails
// with ErrTooLarge, Close becomes SessionClose once, and a send after it
// fails with ErrClosed.
func TestSendAndClose(t *testing.T) {
	in := newInputs()
	r := session.NewRunner(in.add)
	errs := make(chan error, 4)
	r.Register("n", func(ctx context.Context, c session.Conn) error {
		errs <- c.Send(ctx, []byte("hi"))
		errs <- c.Send(ctx, make([]byte, 9))
		c.Close()
		c.Close()
		errs <- c.Send(ctx, []byte("late"))
		return errors.New("done badly")
	})
	open(r, 3, "n", 4, 100)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, session.ErrTooLarge) {
		t.Fatalf("oversized Send: %v", err)
	}
	if err := <-errs; !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	want := []string{"SessionSend ID=3 Data=0x6869", "SessionClose ID=3", `SessionEnded ID=3 Outcome=failure Error="done badly"`}
	for _, w := range want {
		if got := action.Format(in.next(t)); got != w {
			t.Fatalf("reported %s, want %s", got, w)
		}
	}
}

// TestStopAndPanic: a stopped session's Receive returns the stop's error
// (a timeout is context.DeadlineExceeded); a panic is reported as such.
func TestStopAndPanic(t *testing.T) {
	in := newInputs()
	r := session.NewRunner(in.add)
	errs := make(chan error, 1)
	r.Register("wait", func(ctx context.Context, c session.Conn) error {
		_, err := c.Receive(ctx)
		errs <- err
		return err
	})
	r.Register("panic", func(ctx context.Context, c session.Conn) error { panic("boom") })
	open(r, 1, "wait", 4, 100)
	r.End(service.EndSession{ID: 1, Outcome: state.SessionTimeout})
	if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive after a timeout: %v", err)
	}
	if a := in.next(t).(action.SessionEnded); a.Outcome != state.SessionFailure {
		t.Fatalf("ended %v", a)
	}
	open(r, 2, "panic", 4, 100)
	if a := in.next(t).(action.SessionEnded); a.Outcome != state.SessionPanic || a.Error != "session panicked: boom" {
		t.Fatalf("ended %v", a)
	}
	r.End(service.EndSession{ID: 1})
	r.End(service.EndSession{ID: 2})
	if n := r.Running(); n != 0 {
		t.Fatalf("%d sessions held after their ends", n)
	}
}

// TestSteppedRunner: a stepped callback runs only inside the Runner call
// that resumes it, so what it reports is complete when the call returns.
func TestSteppedRunner(t *testing.T) {
	var got []string
	r := session.NewSteppedRunner(func(a action.Action) { got = append(got, action.Format(a)) })
	r.Register("echo", func(ctx context.Context, c session.Conn) error {
		for {
			msg, err := c.Receive(ctx)
			if err != nil {
				if errors.Is(err, session.ErrClosed) {
					return nil
				}
				return err
			}
			if err := c.Send(ctx, msg); err != nil {
				return err
			}
		}
	})
	open(r, 5, "echo", 4, 100)
	if len(got) != 0 {
		t.Fatalf("reported %v before any message", got)
	}
	r.Deliver(service.SessionDeliver{ID: 5, Data: []byte{1}})
	r.Deliver(service.SessionDeliver{ID: 5, Data: []byte{2}})
	if len(got) != 2 || got[1] != "SessionSend ID=5 Data=0x02" {
		t.Fatalf("reported %v", got)
	}
	r.Deliver(service.SessionDeliver{ID: 5, EOF: true})
	if len(got) != 3 || got[2] != "SessionEnded ID=5 Outcome=success" {
		t.Fatalf("reported %v", got)
	}
}

func TestConfig(t *testing.T) {
	c := session.Config{}.WithDefaults()
	if c.Target != 10 || c.Timeout != 240*time.Second || c.Validate() != nil {
		t.Fatalf("defaults %+v: %v", c, c.Validate())
	}
	if c.Budget != session.DefaultBudget {
		t.Fatalf("default budget %+v", c.Budget)
	}
	for _, bad := range []session.Config{{Target: 1}, {Target: 31}, {Timeout: time.Millisecond}, {MaxMessage: 2 << 20},
		{Budget: state.Budget{Msgs: -1}}} {
		if err := bad.WithDefaults().Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestCutCodec(t *testing.T) {
	h := []uint64{0, 5, 1 << 40}
	got, err := session.DecodeCut(session.EncodeCut(h))
	if err != nil || len(got) != 3 || got[2] != 1<<40 {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {2, 1}, {1, 1, 0}, {0xff, 0xff, 0xff, 0x7f}} {
		if _, err := session.DecodeCut(bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}
