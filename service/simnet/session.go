package simnet

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Sessions in the simulated network: a session's stream is a pair of ends
// on the link between two endpoints, its frames travel on the link in
// order with everything else, and a closed link takes its streams with
// it (each node's state machine stops their sessions when it sees the
// peer go). The application's side is the endpoint's Sessions.

// sessionTable is an endpoint's session streams.
type sessionTable struct {
	// byID holds our sessions' streams by session ID; pending the
	// streams peers opened that our node has not yet accepted.
	byID    map[uint64]*simStream
	pending map[uint64]*simStream
	nextIn  uint64
}

// simStream is one session stream: end 0 opened it, end 1 accepted it.
type simStream struct {
	link *link
	eps  [2]*Endpoint
	ids  [2]uint64 // session ID at each end; 0 until that end has one
	done [2]bool
}

func (ep *Endpoint) sessions() *sessionTable {
	if ep.sess == nil {
		ep.sess = &sessionTable{byID: map[uint64]*simStream{}, pending: map[uint64]*simStream{}}
	}
	return ep.sess
}

// end is our end's index in st.
func (st *simStream) end(ep *Endpoint) int {
	if st.eps[0] == ep {
		return 0
	}
	return 1
}

// OpenSession opens a stream to the peer over the open connection (or
// takes the inbound one), and starts the application's callback.
func (ep *Endpoint) OpenSession(c service.OpenSession) {
	t := ep.sessions()
	if c.Stream != 0 {
		st := t.pending[c.Stream]
		delete(t.pending, c.Stream)
		if st == nil {
			ep.net.After(0, func() {
				ep.Input(action.SessionFailed{ID: c.ID, Outcome: state.SessionPeerGone, Error: "stream gone"})
			})
			return
		}
		st.ids[1] = c.ID
		t.byID[c.ID] = st
	} else {
		l := ep.links[c.Peer]
		if l == nil || !l.alive[l.side(ep)] {
			ep.net.After(0, func() {
				ep.Input(action.SessionFailed{ID: c.ID, Outcome: state.SessionPeerGone, Error: "not connected"})
			})
			return
		}
		st := &simStream{link: l, eps: [2]*Endpoint{ep, l.ends[1-l.side(ep)]}, ids: [2]uint64{c.ID, 0}}
		t.byID[c.ID] = st
		network := c.Network
		ep.transmit(l, func(to *Endpoint) { to.sessionArrived(st, network) })
	}
	if ep.Sessions != nil {
		ep.Sessions.Open(c)
	}
}

// sessionArrived is a peer's stream reaching us: we hold it until our
// node accepts or refuses it.
func (ep *Endpoint) sessionArrived(st *simStream, network string) {
	if ep.down || ep.silent {
		return
	}
	t := ep.sessions()
	t.nextIn++
	t.pending[t.nextIn] = st
	ep.Input(action.SessionIncoming{Peer: st.eps[0].ID, Network: network, Stream: t.nextIn})
}

// toPeer schedules fn at the other end of our session id's stream, after
// what was sent before, unless that end has finished with it.
func (ep *Endpoint) toPeer(id uint64, fn func(to *Endpoint, theirs uint64)) {
	st := ep.sessions().byID[id]
	if st == nil {
		return
	}
	o := 1 - st.end(ep)
	ep.transmit(st.link, func(to *Endpoint) {
		if to == st.eps[o] && !st.done[o] && st.ids[o] != 0 && to.sessions().byID[st.ids[o]] == st {
			fn(to, st.ids[o])
		}
	})
}

// SessionWrite sends a message, or our close, to the peer.
func (ep *Endpoint) SessionWrite(c service.SessionWrite) {
	if c.Close {
		ep.toPeer(c.ID, func(to *Endpoint, id uint64) { to.Input(action.SessionPeerClosed{ID: id}) })
		return
	}
	data := c.Data
	ep.toPeer(c.ID, func(to *Endpoint, id uint64) { to.Input(action.SessionReceived{ID: id, Data: data}) })
}

// SessionDeliver hands the application what the node delivers.
func (ep *Endpoint) SessionDeliver(c service.SessionDeliver) {
	if ep.Sessions != nil {
		ep.Sessions.Deliver(c)
	}
}

// EndSession stops or ends a session. The peer learns of a timeout or an
// overflow as such, of any other stop as a failed stream, and of an end
// as our close; a refused stream is reset.
func (ep *Endpoint) EndSession(c service.EndSession) {
	t := ep.sessions()
	if c.ID == 0 {
		st := t.pending[c.Stream]
		delete(t.pending, c.Stream)
		if st != nil {
			id, outcome := st.ids[0], c.Outcome
			from := st.eps[0]
			ep.transmit(st.link, func(to *Endpoint) {
				if to == from && to.sessions().byID[id] == st {
					to.Input(action.SessionFailed{ID: id, Outcome: outcome, Error: "stream refused"})
				}
			})
		}
		return
	}
	if ep.Sessions != nil {
		ep.Sessions.End(c)
	}
	st := t.byID[c.ID]
	if st == nil {
		return
	}
	outcome := c.Outcome
	switch outcome {
	case state.SessionTimeout, state.SessionOverflow:
	case state.SessionRunning:
		// Over: the peer sees our close (a second one is not enabled).
		ep.toPeer(c.ID, func(to *Endpoint, id uint64) { to.Input(action.SessionPeerClosed{ID: id}) })
	default:
		outcome = state.SessionPeerGone
	}
	if outcome != state.SessionRunning {
		ep.toPeer(c.ID, func(to *Endpoint, id uint64) {
			to.Input(action.SessionFailed{ID: id, Outcome: outcome, Error: "stream reset by the peer"})
		})
	}
	st.done[st.end(ep)] = true
	delete(t.byID, c.ID)
}
