package simnet

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Handler is a simulated application's answer to a request on a request
// channel: the response and RequestOK, or a refusal.
type Handler func(from state.PeerID, ch state.Channel, req []byte) ([]byte, state.RequestStatus)

// Request carries our request to the peer over the open connection, in
// order with the rest; without one it fails at once.
func (ep *Endpoint) Request(c service.Request) {
	l := ep.links[c.Peer]
	if l == nil || !l.alive[l.side(ep)] {
		ep.net.After(0, func() { ep.Input(action.RequestFailed{Peer: c.Peer, ID: c.ID, Error: "not connected"}) })
		return
	}
	ep.transmit(l, func(to *Endpoint) {
		to.Input(action.RequestReceived{Peer: ep.ID, Channel: c.Wire, ID: c.ID, Data: c.Data})
	})
}

// Respond carries our answer to a peer's request; without a connection it
// is lost (the peer times out).
func (ep *Endpoint) Respond(c service.Respond) {
	l := ep.links[c.Peer]
	if l == nil || !l.alive[l.side(ep)] {
		return
	}
	ep.transmit(l, func(to *Endpoint) {
		to.Input(action.ResponseReceived{Peer: ep.ID, Channel: c.Wire, ID: c.ID, Status: c.Status, Data: c.Data})
	})
}

// Serve asks the endpoint's Handler and answers with what it says, as the
// next event; with no Handler the request is refused.
func (ep *Endpoint) Serve(c service.Serve) {
	resp, st := []byte(nil), state.RequestRefused
	if ep.Handler != nil {
		resp, st = ep.Handler(c.Peer, c.Channel, c.Data)
	}
	ep.net.After(0, func() {
		ep.Input(action.SendResponse{Peer: c.Peer, Channel: c.Channel, ID: c.ID, Status: st, Data: resp})
	})
}

// Complete tells OnComplete, if set, how our request ended.
func (ep *Endpoint) Complete(c service.Complete) {
	if ep.OnComplete != nil {
		ep.OnComplete(c)
	}
}
