package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// ErrLookup is a DHT lookup that failed or timed out (after
// state.Config.DHTQueryTimeout); the error wraps what the DHT said.
var ErrLookup = errors.New("DHT lookup failed")

// FindPeers looks up to max peers advertising capability up in the DHT
// and returns them with their addresses. They are also added to the
// address book, tagged with the capability, where the dialler may pick
// them; connect to one with Connect. The node needs the DHT on
// (state.Config.DHTMode); the lookup is an input like any other, so it and
// its answer are in the action log.
func (n *Node) FindPeers(ctx context.Context, capability string, max int) ([]state.PeerAddr, error) {
	res := make(chan service.FoundPeers, 1)
	var id uint64
	var err error
	if derr := n.do(ctx, func() {
		if err = n.dispatch(action.FindPeers{Capability: capability, Max: max}); err == nil {
			id = n.st.State().DHT.NextQuery
			n.lookups[id] = res
		}
	}); derr != nil {
		return nil, derr
	}
	if err != nil {
		return nil, err
	}
	select {
	case r := <-res:
		if r.Error != "" && len(r.Peers) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrLookup, r.Error)
		}
		return r.Peers, nil
	case <-ctx.Done():
		n.do(context.Background(), func() { delete(n.lookups, id) })
		return nil, ctx.Err()
	case <-n.loopDone:
		return nil, ErrClosed
	}
}

// found hands a lookup's answer to the FindPeers waiting for it
// (service.FoundPeers, in the loop).
func (n *Node) found(c service.FoundPeers) {
	if res, ok := n.lookups[c.Query]; ok {
		delete(n.lookups, c.Query)
		res <- c
	}
}

// Host is the node's go-libp2p host, for what p2pcore does not wrap (its
// connections are counted and closed by the state machine all the same).
// Nil before Start.
func (n *Node) Host() host.Host {
	if n.svc == nil {
		return nil
	}
	return n.svc.Host()
}

// GateRefused is how many connections the host's gate refused because
// the node was at its connection ceiling (see service/libp2p/gate.go).
func (n *Node) GateRefused() uint64 {
	if n.svc == nil {
		return 0
	}
	return n.svc.GateRefused()
}
