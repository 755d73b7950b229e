package node

import (
	"context"
	"log/slog"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// peerLog tells the operator what happens to peers, in the node's slog
// logger: a peer ready (info), a peer gone and why (info), misbehaviour
// (warn), a failed dial (debug). It watches the actions as the store
// applies them, so what it logs is exactly what the action log records.
type peerLog struct {
	log  *slog.Logger
	st   *store.Store
	next store.Observer // the recorder, if any
}

// Input logs the inputs that end a peer, then passes a on.
func (l *peerLog) Input(m action.Meta, a action.Action) {
	switch a := a.(type) {
	case action.Disconnected:
		if p, ok := l.st.State().Peers[a.Peer]; ok {
			l.gone(p, a.Error)
		}
	case action.ConnectionFailed:
		l.log.Debug("dial failed", "peer", a.Peer, "err", a.Error)
	}
	if l.next != nil {
		l.next.Input(m, a)
	}
}

// Derived logs the decisions the state machine took, then passes a on.
func (l *peerLog) Derived(m action.Meta, a action.Action, dropped bool) {
	if !dropped {
		switch a := a.(type) {
		case action.PeerReady:
			if p, ok := l.st.State().Peers[a.Peer]; ok {
				l.log.Info("peer ready", "peer", a.Peer, "dir", p.Dir, "addr", p.Addr)
			}
		case action.Misbehaved:
			l.log.Warn("peer misbehaved", "peer", a.Peer, "offence", a.Offence, "detail", a.Detail)
		}
	}
	if l.next != nil {
		l.next.Derived(m, a, dropped)
	}
}

// Commands passes the commands on.
func (l *peerLog) Commands(m action.Meta, a action.Action, cmds []service.Command) {
	if l.next != nil {
		l.next.Commands(m, a, cmds)
	}
}

// Checkpoint passes the checkpoint on.
func (l *peerLog) Checkpoint(lastID uint64, h state.Hash, sections []state.SectionHash) {
	if l.next != nil {
		l.next.Checkpoint(lastID, h, sections)
	}
}

// gone logs a peer's departure: a peer that never became ready is a
// debug line, one that did is worth an info line with the reason.
func (l *peerLog) gone(p *state.Peer, err string) {
	level := slog.LevelDebug
	if p.Handshake.Done {
		level = slog.LevelInfo
	}
	args := []any{"peer", p.ID, "dir", p.Dir}
	if p.Reason != state.ReasonNone {
		args = append(args, "reason", p.Reason)
	}
	if p.RemoteReason != state.ReasonNone {
		args = append(args, "their_reason", p.RemoteReason)
	}
	if err != "" {
		args = append(args, "err", err)
	}
	l.log.Log(context.Background(), level, "peer gone", args...)
}
