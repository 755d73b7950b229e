package node

import (
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// eventDeriver turns the actions a store applies into peer events. It sees
// each action of interest twice: before it is applied (with the state it
// will be applied to, and whether its enabling condition holds) and after
// (with the state it left). It reads the actions and the state, never the
// service or the clock, so feeding it a replay of a node's log derives the
// events that node published.
//
// Its only memory is the set of peers it reported ready, so that every
// EventPeerGone pairs with an EventPeerReady whatever happened in between.
// Every peer in it is in the state's peer table, which bounds it.
type eventDeriver struct {
	emit  func(Event)
	ready map[state.PeerID]bool

	// What before captured for after, for the action pendingID (0: none).
	pendingID uint64
	gone      Event
	bans      [2]priorBan
}

// priorBan is a ban-table entry as it was before an action.
type priorBan struct {
	key string
	ban state.Ban
	had bool
}

// derives reports whether the deriver needs to see a.
func derives(a action.Action) bool {
	switch a.(type) {
	case action.PeerReady, action.Disconnected, action.CloseTimedOut, action.Misbehaved, action.Ban:
		return true
	}
	return false
}

// before captures what after will need of the state before a is applied.
func (d *eventDeriver) before(st *state.State, m action.Meta, a action.Action, enabled bool) {
	d.pendingID = 0
	if !enabled {
		return
	}
	switch a := a.(type) {
	case action.Disconnected:
		d.captureGone(st, a.Peer, a.Error)
	case action.CloseTimedOut:
		d.captureGone(st, a.Peer, "close not confirmed within the disconnect timeout")
	case action.Misbehaved:
		d.bans = [2]priorBan{}
		if p, ok := st.Peers[a.Peer]; ok {
			d.bans[0] = priorBanOf(st, string(p.ID))
			if host := state.AddrHost(p.Addr); host != "" {
				d.bans[1] = priorBanOf(st, host)
			}
		}
	case action.PeerReady, action.Ban:
	default:
		return
	}
	d.pendingID = m.ID
}

func priorBanOf(st *state.State, key string) priorBan {
	b, ok := st.Bans[key]
	return priorBan{key: key, ban: b, had: ok}
}

// captureGone notes how a peer that was reported ready is leaving; a
// peer never reported ready leaves without an event.
func (d *eventDeriver) captureGone(st *state.State, id state.PeerID, err string) {
	d.gone = Event{}
	p, ok := st.Peers[id]
	if !ok || !d.ready[id] {
		return
	}
	reason := p.Reason
	if p.Status != state.StatusDisconnecting {
		// It closed without a word while connected: the reducer counts
		// this as remote closed, and so do we.
		reason = state.ReasonRemoteClosed
	}
	d.gone = Event{Kind: EventPeerGone, Peer: id, Direction: p.Dir, Addr: p.Addr,
		Reason: reason, RemoteReason: p.RemoteReason, Error: err}
}

// after emits the events of an enabled action, now applied to st.
func (d *eventDeriver) after(st *state.State, m action.Meta, a action.Action) {
	if d.pendingID != m.ID || m.ID == 0 {
		return
	}
	d.pendingID = 0
	at := time.Unix(0, m.Time)
	switch a := a.(type) {
	case action.PeerReady:
		p, ok := st.Peers[a.Peer]
		if !ok {
			return
		}
		if d.ready == nil {
			d.ready = make(map[state.PeerID]bool)
		}
		d.ready[a.Peer] = true
		d.emit(Event{Kind: EventPeerReady, ActionID: m.ID, Time: at, Peer: a.Peer,
			Direction: p.Dir, Addr: p.Addr, Software: p.Handshake.Software})
	case action.Disconnected, action.CloseTimedOut:
		if d.gone.Kind == 0 {
			return
		}
		ev := d.gone
		d.gone = Event{}
		delete(d.ready, ev.Peer)
		ev.ActionID, ev.Time = m.ID, at
		d.emit(ev)
	case action.Misbehaved:
		ev := Event{Kind: EventMisbehaved, ActionID: m.ID, Time: at, Peer: a.Peer, Offence: a.Offence, Detail: a.Detail}
		if p, ok := st.Peers[a.Peer]; ok {
			ev.Score = p.Score
		}
		d.emit(ev)
		// The bans this offence added or renewed, by the peer's ID and
		// its IP, as the reducer wrote them into the table.
		for _, prior := range d.bans {
			if prior.key == "" {
				continue
			}
			if b, ok := st.Bans[prior.key]; ok && (!prior.had || b != prior.ban) {
				d.emit(banEvent(m, at, a.Peer, prior.key, b))
			}
		}
	case action.Ban:
		key, err := reducer.BanTarget(st.Config.IDs, a.Target)
		if err != nil {
			return
		}
		if b, ok := st.Bans[key]; ok {
			d.emit(banEvent(m, at, "", key, b))
		}
	}
}

func banEvent(m action.Meta, at time.Time, peer state.PeerID, key string, b state.Ban) Event {
	return Event{Kind: EventBanned, ActionID: m.ID, Time: at, Peer: peer, Target: key,
		Until: time.Unix(0, b.Until), Manual: b.Manual, Detail: b.Reason}
}

// eventObserver feeds a node's store to its event deriver: the store's
// observer calls (before an action) and its AfterAction hook (after). It
// passes every observer call on to the next observer (the operator's log
// and the recorder).
type eventObserver struct {
	store.Observer
	st *store.Store
	d  eventDeriver
}

// observe returns the observer that derives the hub's events from a
// store; set its st once the store exists, and its after as the store's
// AfterAction.
func (h *eventHub) observe(next store.Observer) *eventObserver {
	return &eventObserver{Observer: next, d: eventDeriver{emit: h.publish}}
}

// Input captures an input of interest, then passes it on.
func (o *eventObserver) Input(m action.Meta, a action.Action) {
	if derives(a) {
		// The same question, on the same state, that the store asks next.
		st := o.st.State()
		o.d.before(st, m, a, reducer.Enabled(st, a) == nil)
	}
	o.Observer.Input(m, a)
}

// Derived captures a derived action of interest, then passes it on.
func (o *eventObserver) Derived(m action.Meta, a action.Action, dropped bool) {
	if derives(a) {
		o.d.before(o.st.State(), m, a, !dropped)
	}
	o.Observer.Derived(m, a, dropped)
}

// after is the store's AfterAction.
func (o *eventObserver) after(st *state.State, m action.Meta, a action.Action) {
	o.d.after(st, m, a)
}
