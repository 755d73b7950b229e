package node

import (
	"context"
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/session"
	"github.com/p2pcore/p2pcore/state"
)

// RunSessions starts a session network on the started node: from now on
// the node keeps cfg.Target sessions of it running (default 10), each
// with a peer the state machine chooses among the ready peers (Chainweb's
// rule: peers that already run a session of another network first, then
// by successive failures), each stopped after its drawn timeout
// (cfg.Timeout ± 10 %, default 240 s), and starts another whenever one
// ends. Peers' sessions of the network are run with s too. Any number of
// networks (one per chain, say) share the node's connections: each
// session is a stream of the connection to its peer,
// /p2pcore/<network>/session/<name>/1, and no session dials.
//
// s runs in its own goroutine per session and must return when its
// context ends. Every start, message and end is recorded in the node's
// action log, so a replay reproduces the scheduling. It fails for an
// invalid name or config, or a network already running.
func (n *Node) RunSessions(name string, s session.Session, cfg session.Config) error {
	if s == nil {
		return fmt.Errorf("%w: a nil session", reducer.ErrInvalid)
	}
	if err := state.ValidSessionName(name); err != nil {
		return fmt.Errorf("%w: %v", reducer.ErrSessionNetwork, err)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %s: %v", reducer.ErrSessionNetwork, name, err)
	}
	if cfg.MaxMessage > n.rules.MaxMessageSize {
		return fmt.Errorf("%w: %s: MaxMessage %d exceeds the node's MaxMessageSize %d", reducer.ErrSessionNetwork, name, cfg.MaxMessage, n.rules.MaxMessageSize)
	}
	n.mu.Lock()
	started, closed := n.started, n.closed
	n.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case !started:
		return ErrNotStarted
	}
	// The callback is in place before the first session starts, which
	// happens while the state machine takes StartSessions.
	if !n.sessions.Register(name, s) {
		return fmt.Errorf("%w: %s is running already", reducer.ErrSessionNetwork, name)
	}
	err := n.act(context.Background(), action.StartSessions{Network: name, Target: cfg.Target, Timeout: cfg.Timeout,
		BufferMessages: cfg.BufferMessages, BufferBytes: cfg.BufferBytes, MaxMessage: cfg.MaxMessage, Budget: cfg.Budget})
	if err != nil {
		n.sessions.Unregister(name)
	}
	return err
}
