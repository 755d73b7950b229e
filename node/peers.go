package node

import (
	"context"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// PeerInfo describes one peer for the API.
type PeerInfo struct {
	ID        state.PeerID
	Direction state.Direction
	Addr      state.Addr
	Status    state.Status
	Since     time.Time
	Software  string
	RTT       time.Duration
	Score     int
	// AddrsOnly marks an inbound peer that came when every inbound place
	// was taken: it is here only to be given addresses, and is
	// disconnected (too many peers) once it has them (Config.AddrsWhenFull).
	// It holds no inbound place, though its handshake may be complete.
	AddrsOnly bool
}

// Peers lists the node's peers, ready or not, by ID.
func (n *Node) Peers() []PeerInfo {
	var out []PeerInfo
	n.view(context.Background(), func(s *state.State) {
		for _, id := range state.SortedKeys(s.Peers) {
			p := s.Peers[id]
			out = append(out, PeerInfo{
				ID: id, Direction: p.Dir, Addr: p.Addr, Status: p.Status, Since: time.Unix(0, p.Since),
				Software: p.Handshake.Software, RTT: time.Duration(p.Ping.RTT), Score: p.Score,
				AddrsOnly: p.AddrOnly,
			})
		}
	})
	return out
}

// ReadyPeers lists the IDs of the peers that completed their handshake.
func (n *Node) ReadyPeers() []state.PeerID {
	var out []state.PeerID
	n.view(context.Background(), func(s *state.State) { out = s.ReadyPeers() })
	return out
}

// BroadcastPeers lists the peers known to listen on a broadcast channel:
// GossipSub has exchanged subscriptions with them, so a Broadcast reaches
// them directly. Right after a peer connects this takes a moment.
func (n *Node) BroadcastPeers(ch state.Channel) []state.PeerID {
	if n.svc == nil {
		return nil
	}
	return n.svc.TopicPeers(ch)
}

// Channel finds one of the node's channels by its name.
func (n *Node) Channel(name string) (state.Channel, bool) { return n.rules.ChannelByName(name) }
