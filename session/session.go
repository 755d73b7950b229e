// Package session is Chainweb's P2P session API on p2pcore.
//
// A Session is a callback given a Conn to one remote session: it sends,
// receives and closes, and never learns who the remote is. A node keeps a
// target number of sessions of each session network running
// (node.Node.RunSessions), choosing their peers, timing them out and
// recording every start, message and end in its action log; any number of
// session networks (one per chain, say) share the node's connections, each
// session a stream on one of them.
//
// The callback is application code: it runs in its own goroutine, outside
// the state machine, as a request Handler does. Its Sends and Closes enter
// the state machine as input actions, its peer's messages come out of it,
// and how it ended is an input too, so a replay of the log reproduces
// every scheduling decision without running it.
package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// Session is one session's code. It returns nil for success and an error
// for failure; a panic is a failure too. When the session times out its
// context ends (context.DeadlineExceeded): a timeout counts as a success,
// whatever the callback then returns. A success resets the peer's
// successive failures; failures make the node prefer other peers.
type Session func(ctx context.Context, c Conn) error

// Conn is a session's connection to its remote session.
type Conn interface {
	// Send queues a message for the peer. It fails with ErrTooLarge
	// over the network's message limit, ErrClosed once our end is
	// closed, and the session's error once it is stopped.
	Send(ctx context.Context, msg []byte) error
	// Receive returns the peer's next message, waiting for it; after the
	// peer closed its end, ErrClosed once the buffered messages are read.
	Receive(ctx context.Context) ([]byte, error)
	// TryReceive is Receive without waiting: ok is false when no message
	// is buffered and the session goes on.
	TryReceive() (msg []byte, ok bool, err error)
	// Close closes our end: nothing more is sent, and the peer's Receive
	// returns ErrClosed after what was sent before.
	Close() error
}

// Errors of a Conn.
var (
	// ErrClosed: the session's end (ours or the peer's) is closed.
	ErrClosed = errors.New("session closed")
	// ErrBufferOverflow: a receive buffer of the session, ours or the
	// peer's, was full; the session fails on both ends.
	ErrBufferOverflow = errors.New("session receive buffer overflow")
	// ErrTooLarge: a message exceeds the session network's limit.
	ErrTooLarge = errors.New("session message too large")
	// ErrPeerGone: the connection to the peer closed, or the stream
	// failed.
	ErrPeerGone = errors.New("session peer gone")
	// ErrUnsupported: the peer does not run this session network.
	ErrUnsupported = errors.New("the peer does not run this session network")
	// ErrOverBudget: the peer sent more than the network's Budget.
	ErrOverBudget = errors.New("the session's peer sent more than its budget")
)

// Config configures a session network.
type Config struct {
	// Target is how many sessions the node keeps running (default 10,
	// valid 2–30).
	Target int
	// Timeout is the mean session duration (default 240 s); each session's
	// is drawn uniformly within ±10 % of it.
	Timeout time.Duration
	// BufferMessages and BufferBytes bound a session's receive buffer
	// (defaults 64 and 1 MiB): one more fails the session with
	// ErrBufferOverflow.
	BufferMessages int
	BufferBytes    int
	// MaxMessage bounds one message (default 64 KiB, at most the node's
	// MaxMessageSize and BufferBytes).
	MaxMessage int
	// Budget bounds what the peer of one session may send (default 100
	// messages and 4 MiB per second, in bursts of 5 s worth): past it the
	// session fails with ErrOverBudget. It is what bounds the traffic a
	// peer can push into the node and its action log, however fast the
	// application reads.
	Budget state.Budget
}

// Defaults of Config.
const (
	DefaultTarget         = 10
	DefaultTimeout        = 240 * time.Second
	DefaultBufferMessages = 64
	DefaultBufferBytes    = 1 << 20
	DefaultMaxMessage     = 64 << 10
)

// WithDefaults fills the zero fields of c with the defaults.
func (c Config) WithDefaults() Config {
	if c.Target == 0 {
		c.Target = DefaultTarget
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.BufferMessages == 0 {
		c.BufferMessages = DefaultBufferMessages
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = min(DefaultMaxMessage, c.BufferBytes)
	}
	if c.Budget == (state.Budget{}) {
		c.Budget = DefaultBudget
	}
	return c
}

// DefaultBudget is Config.Budget's default.
var DefaultBudget = state.Budget{Msgs: 100, Bytes: 4 << 20, Burst: 5 * time.Second}

// Validate reports the first setting out of range, naming it.
func (c Config) Validate() error {
	switch {
	case c.Target < 2 || c.Target > 30:
		return fmt.Errorf("session Target %d: must be 2 to 30", c.Target)
	case c.Timeout < 100*time.Millisecond:
		return fmt.Errorf("session Timeout %v: must be at least 100ms", c.Timeout)
	case c.BufferMessages < 1:
		return fmt.Errorf("session BufferMessages %d: must be positive", c.BufferMessages)
	case c.BufferBytes < 1:
		return fmt.Errorf("session BufferBytes %d: must be positive", c.BufferBytes)
	case c.MaxMessage < 1 || c.MaxMessage > c.BufferBytes:
		return fmt.Errorf("session MaxMessage %d: must be 1 to BufferBytes (%d)", c.MaxMessage, c.BufferBytes)
	case c.Budget.Msgs < 0 || c.Budget.Bytes < 0 || c.Budget.Burst < 0:
		return fmt.Errorf("session Budget %+v: must not be negative", c.Budget)
	}
	return nil
}
