package node

import (
	"slices"
	"strings"

	"github.com/p2pcore/p2pcore/state"
)

// ConnInfo is one peer's go-libp2p connections (their IDs, sorted) and,
// per connection, the session networks whose streams it carries.
type ConnInfo struct {
	Conns    []string
	Sessions map[string][]string
}

// StreamCount is the number of streams open on the node's connections.
func StreamCount(n *Node) int {
	total := 0
	for _, c := range n.svc.Host().Network().Conns() {
		total += len(c.GetStreams())
	}
	return total
}

// SessionConns describes the node's go-libp2p connections, by peer.
func SessionConns(n *Node) map[state.PeerID]ConnInfo {
	h := n.svc.Host()
	out := map[state.PeerID]ConnInfo{}
	for _, p := range h.Network().Peers() {
		info := ConnInfo{Sessions: map[string][]string{}}
		for _, c := range h.Network().ConnsToPeer(p) {
			info.Conns = append(info.Conns, c.ID())
			for _, st := range c.GetStreams() {
				proto := string(st.Protocol())
				if i := strings.Index(proto, "/session/"); i >= 0 && !slices.Contains(info.Sessions[c.ID()], proto) {
					info.Sessions[c.ID()] = append(info.Sessions[c.ID()], proto)
				}
			}
		}
		slices.Sort(info.Conns)
		out[state.PeerID(p.String())] = info
	}
	return out
}
