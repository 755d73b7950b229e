package sim

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// Report summarises a simulation; it is what `p2pnode sim --json` prints.
type Report struct {
	Seed       uint64 `json:"seed"`
	Nodes      int    `json:"nodes"`
	Duration   string `json:"duration"`
	Actions    uint64 `json:"actions"`
	Events     uint64 `json:"events"`
	Violations uint64 `json:"invariant_violations"`
	AtTarget   int    `json:"nodes_at_outbound_target"`
	// Islands are the sizes of the connected parts of the live nodes'
	// graph of ready connections, largest first: one entry when the
	// network is whole.
	Islands  []int        `json:"islands"`
	Delivery Delivery     `json:"delivery"`
	Gossip   Gossip       `json:"gossip"`
	PerNode  []NodeReport `json:"per_node"`
}

// Delivery describes the broadcasts published after the warm-up.
type Delivery struct {
	Published int `json:"published"`
	// Expected is published × the other live nodes; Delivered is how many
	// of those deliveries happened.
	Expected  int     `json:"expected"`
	Delivered int     `json:"delivered"`
	Refused   int     `json:"refused"`
	P50ms     float64 `json:"latency_p50_ms"`
	P99ms     float64 `json:"latency_p99_ms"`
	// Missing accounts for every expected delivery that did not happen;
	// Duplicates counts broadcasts handed to one application twice.
	Missing    Missing `json:"missing"`
	Duplicates int     `json:"duplicates"`
}

// Gossip is the simulated GossipSub's traffic over the whole run.
type Gossip struct {
	// Amplification is the copies of a broadcast a node received for each
	// one it needed (go-libp2p's GossipSub: about 4× on 20 hosts, 6× on
	// 100).
	Amplification float64 `json:"amplification"`
	Copies        uint64  `json:"copies"`
	Graft         uint64  `json:"graft"`
	Prune         uint64  `json:"prune"`
	IHave         uint64  `json:"ihave"`
	IWant         uint64  `json:"iwant"`
	// Fetched counts messages sent in answer to an IWANT.
	Fetched uint64 `json:"fetched"`
}

// NodeReport is one node's line of the report.
type NodeReport struct {
	ID                string            `json:"id"`
	Network           string            `json:"network"`
	OutboundReady     int               `json:"outbound_ready"`
	InboundReady      int               `json:"inbound_ready"`
	OutboundTarget    int               `json:"outbound_target"`
	AtTarget          bool              `json:"at_outbound_target"`
	Disconnects       map[string]uint64 `json:"disconnect_reasons"`
	RemoteDisconnects map[string]uint64 `json:"remote_disconnect_reasons"`
	Offences          map[string]uint64 `json:"offences,omitempty"`
	Violations        uint64            `json:"invariant_violations"`
	FirstViolation    string            `json:"first_violation,omitempty"`
	Actions           uint64            `json:"actions"`
	Log               string            `json:"log,omitempty"`
	Down              bool              `json:"down,omitempty"`
}

// Report describes the simulation as it stands.
func (s *Sim) Report() *Report {
	r := &Report{Seed: s.cfg.Seed, Nodes: len(s.Nodes), Duration: s.cfg.Duration.String(), Events: s.Net.Events}
	for _, n := range s.Nodes {
		st := n.Store.State()
		c := st.Counts()
		v, first := n.Violations()
		nr := NodeReport{
			ID: string(n.ID), Network: st.Config.Network,
			OutboundReady: c.OutboundReady, InboundReady: c.InboundReady,
			OutboundTarget:    st.Config.OutboundTarget,
			Disconnects:       reasons(st.Counters.Disconnects),
			RemoteDisconnects: reasons(st.Counters.RemoteDisconnects),
			Offences:          map[string]uint64{},
			Violations:        v, Actions: st.Counters.Actions, Log: n.Path,
			Down: n.EP.Down() || n.EP.Silent(),
		}
		for _, o := range state.SortedKeys(st.Counters.Offences) {
			nr.Offences[o.String()] = st.Counters.Offences[o]
		}
		if first != nil {
			nr.FirstViolation = first.Error()
		}
		nr.AtTarget = c.OutboundReady >= st.Config.OutboundTarget || !s.canDialMore(n.Index)
		if nr.AtTarget {
			r.AtTarget++
		}
		r.Actions += nr.Actions
		r.Violations += v
		r.PerNode = append(r.PerNode, nr)
	}
	r.Islands = s.islands()
	d := &s.stats
	r.Delivery = Delivery{Published: d.published, Expected: d.expected, Delivered: d.got, Refused: d.refused,
		Missing: s.account(), Duplicates: d.dups}
	g := s.Net.Gossip()
	r.Gossip = Gossip{Amplification: g.Amplification(), Copies: g.Arrivals, Graft: g.Graft, Prune: g.Prune,
		IHave: g.IHave, IWant: g.IWant, Fetched: g.Fetched}
	if d.latency.n > 0 {
		ms := func(q int) float64 { return float64(d.latency.quantile(q)) / float64(time.Millisecond) }
		r.Delivery.P50ms, r.Delivery.P99ms = ms(50), ms(99)
	}
	return r
}

// islands returns the sizes of the connected components of the live
// nodes' ready connections, largest first.
func (s *Sim) islands() []int {
	index := map[state.PeerID]int{}
	for i, n := range s.Nodes {
		index[n.ID] = i
	}
	seen := make([]bool, len(s.Nodes))
	var sizes []int
	for i, n := range s.Nodes {
		if seen[i] || n.EP.Down() || n.EP.Silent() {
			continue
		}
		seen[i] = true
		size, stack := 0, []int{i}
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			for id, p := range s.Nodes[j].Store.State().Peers {
				k, ok := index[id]
				if ok && !seen[k] && p.Status == state.StatusReady && !s.Nodes[k].EP.Down() && !s.Nodes[k].EP.Silent() {
					seen[k] = true
					stack = append(stack, k)
				}
			}
		}
		sizes = append(sizes, size)
	}
	slices.SortFunc(sizes, func(a, b int) int { return b - a })
	return sizes
}

// canDialMore reports whether node i could still add an outbound peer: a
// live node of its network, with a clock close enough to shake hands, that
// is not already its peer and whose address group none of its outbound
// peers uses. A node below its target with
// nobody left to dial has "all the peers there are".
func (s *Sim) canDialMore(i int) bool {
	st := s.Nodes[i].Store.State()
	used := st.OutboundGroups()
	for j, m := range s.Nodes {
		if i == j || m.EP.Down() || m.EP.Silent() || m.Store.State().Config.Network != st.Config.Network {
			continue
		}
		if skew := m.clock.offset - s.Nodes[i].clock.offset; max(skew, -skew) > int64(st.Config.MaxClockSkew) {
			continue // their clocks are too far apart for a handshake
		}
		if p, ok := st.Peers[m.ID]; ok && p.Status == state.StatusReady {
			continue
		}
		if !used[state.AddrGroup(m.Addr)] {
			return true
		}
	}
	return false
}

func reasons(m map[state.Reason]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for _, r := range state.SortedKeys(m) {
		out[r.String()] = m[r]
	}
	return out
}

// WriteText prints the report for a person.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "simulation: %d nodes, seed %d, %s simulated, %d actions, %d network events\n",
		r.Nodes, r.Seed, r.Duration, r.Actions, r.Events)
	fmt.Fprintf(w, "%-10s %-10s %9s %8s  %s\n", "node", "network", "out/target", "in", "disconnect reasons (ours)")
	for _, n := range r.PerNode {
		mark := ""
		if !n.AtTarget {
			mark = " (below target)"
		} else if n.OutboundReady < n.OutboundTarget {
			// Counted at target: every node it could dial (one per
			// address group) is already its peer.
			mark = " (no one left to dial)"
		}
		if n.Down {
			mark = " (down)"
		}
		fmt.Fprintf(w, "%-10s %-10s %6d/%-3d %8d  %s%s\n", n.ID, n.Network, n.OutboundReady, n.OutboundTarget,
			n.InboundReady, formatCounts(n.Disconnects), mark)
	}
	d := r.Delivery
	pct := 0.0
	if d.Expected > 0 {
		pct = 100 * float64(d.Delivered) / float64(d.Expected)
	}
	fmt.Fprintf(w, "broadcasts after warm-up: %d published, %d/%d deliveries (%.2f%%), latency p50 %.1f ms p99 %.1f ms, %d refused\n",
		d.Published, d.Delivered, d.Expected, pct, d.P50ms, d.P99ms, d.Refused)
	m := d.Missing
	fmt.Fprintf(w, "missing deliveries: %d crash, %d partition, %d loss, %d closed connection, %d in flight, %d refused by the receiver, %d not yet in the mesh, %d in a part of the mesh apart from the publisher's, %d unexplained\n",
		m.Crash, m.Partition, m.Loss, m.Closed, m.InFlight, m.Refused, m.NotJoined, m.Apart, m.Unexplained)
	g := r.Gossip
	fmt.Fprintf(w, "gossip: amplification %.2f (%d copies), graft %d, prune %d, ihave %d, iwant %d, fetched %d\n",
		g.Amplification, g.Copies, g.Graft, g.Prune, g.IHave, g.IWant, g.Fetched)
	fmt.Fprintf(w, "nodes at outbound target: %d/%d; connected parts (sizes): %v; invariant violations: %d\n",
		r.AtTarget, r.Nodes, r.Islands, r.Violations)
}

func formatCounts(m map[string]uint64) string {
	if len(m) == 0 {
		return "-"
	}
	s := ""
	for _, k := range state.SortedKeys(m) {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s ×%d", k, m[k])
	}
	return s
}
