package libp2p

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Every connection counted. Whoever opens a connection — our dial, a
// remote peer, the DHT, GossipSub, identify — the swarm's notification
// reports it to the state machine, which admits it (as an outbound,
// inbound or service peer) or closes it. Between the connection coming up
// and the state machine's close there is a moment when the host holds
// one connection too many; the gate closes that gap. It is a hard safety
// net with the state machine's own numbers, like the resource manager:
// a connection we did not dial is refused, once secured and before any
// stream, when the host already has OutboundTarget + MaxInbound +
// MaxServicePeers connections less the outbound places our own dials may
// still fill. Our own dials are refused only at the full sum (the peer
// they replace may still be closing; the state machine retries later), so
// the host's connections never exceed it.

// gate is the host's connection gater.
type gate struct {
	s *Service // set once the service exists; nil until then

	mu sync.Mutex
	// pending are connections let through and not yet reported by the
	// swarm, with when they passed (a connection whose upgrade fails
	// never is: it is forgotten after pendingFor).
	pending []pendingConn
	refused atomic.Uint64
}

type pendingConn struct {
	p  peer.ID
	at time.Time
}

const pendingFor = 10 * time.Second

var _ connmgr.ConnectionGater = (*gate)(nil)

// InterceptPeerDial, InterceptAddrDial, InterceptAccept and
// InterceptUpgraded let everything through: the decision is taken once
// the peer is known (InterceptSecured).
func (g *gate) InterceptPeerDial(peer.ID) bool               { return true }
func (g *gate) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }
func (g *gate) InterceptAccept(network.ConnMultiaddrs) bool  { return true }
func (g *gate) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}

// InterceptSecured decides on a secured connection, inbound or outbound.
func (g *gate) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	s := g.s
	if s == nil {
		return true
	}
	s.mu.Lock()
	ours := s.dials[p] != nil
	dialling := len(s.dials)
	s.mu.Unlock()
	r := &s.cfg.Rules
	ceiling := r.OutboundTarget + r.MaxInbound + r.MaxServicePeers
	// Places our own dials may still fill are kept from the others; our
	// dials are refused only at the ceiling itself (a peer we are
	// replacing may still be closing), and the state machine retries.
	reserve := 0
	if !ours {
		reserve = max(0, r.OutboundTarget-int(s.outboundOurs.Load())-dialling)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	kept := g.pending[:0]
	for _, pc := range g.pending {
		if now.Sub(pc.at) < pendingFor {
			kept = append(kept, pc)
		}
	}
	g.pending = kept
	if len(s.h.Network().Conns())+len(g.pending)+reserve >= ceiling {
		g.refused.Add(1)
		return false
	}
	g.pending = append(g.pending, pendingConn{p: p, at: now})
	return true
}

// settle forgets the pending connection of p once the swarm reports it.
func (g *gate) settle(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, pc := range g.pending {
		if pc.p == p {
			g.pending = append(g.pending[:i], g.pending[i+1:]...)
			return
		}
	}
}

// GateRefused is how many connections the gate refused.
func (s *Service) GateRefused() uint64 { return s.gate.refused.Load() }
