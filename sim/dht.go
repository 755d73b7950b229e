package sim

import (
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// CapabilityScenario is discovery by capability through the DHT: every
// node runs the DHT and wants WantPeersPerCapability peers with
// capability Capability, which every Every-th node advertises (Every 10:
// 10 % of the nodes). The broadcast workload is off, so the run is about
// discovery.
type CapabilityScenario struct {
	Capability string
	Every      int
}

// Apply sets cfg up for the scenario, keeping any Tweak it already has.
func (sc CapabilityScenario) Apply(cfg *Config) {
	prev := cfg.Tweak
	cfg.TxRate, cfg.BlockInterval = -1, -1
	cfg.Tweak = func(i int, c *state.Config) {
		if prev != nil {
			prev(i, c)
		}
		c.DHTMode = state.DHTServer
		c.WantCapabilities = []string{sc.Capability}
		if i%sc.Every == 0 {
			c.Capabilities = []string{sc.Capability}
		}
	}
}

// goal is how many peers with the capability node i can find:
// WantPeersPerCapability, or every other node that has it where there are
// fewer (with Every 3 and 10 nodes, an advertising node has three others).
func (sc CapabilityScenario) goal(s *Sim, i int) int {
	others := 0
	for j := range s.Nodes {
		if j != i && j%sc.Every == 0 {
			others++
		}
	}
	return min(s.Nodes[i].Store.State().Config.WantPeersPerCapability, others)
}

// Found reports, for each node, when its address book first held its goal
// of entries with the capability (WantPeersPerCapability, or all there
// are; -1: not yet), after running the simulation to its end in steps of
// step.
func (sc CapabilityScenario) Found(s *Sim, step time.Duration) []time.Duration {
	at := make([]time.Duration, len(s.Nodes))
	for i := range at {
		at[i] = -1
	}
	end := Epoch + int64(s.cfg.Duration)
	for s.Net.Now() < end {
		s.Net.RunUntil(min(s.Net.Now()+int64(step), end))
		for i, n := range s.Nodes {
			st := n.Store.State()
			if at[i] < 0 && st.WithCapability(sc.Capability) >= sc.goal(s, i) {
				at[i] = time.Duration(s.Net.Now() - Epoch)
			}
		}
	}
	return at
}

// Reached counts the nodes whose address book holds their goal of
// entries with the capability now (WantPeersPerCapability, or all there
// are), of all nodes.
func (sc CapabilityScenario) Reached(s *Sim) (reached, total int) {
	for i, n := range s.Nodes {
		st := n.Store.State()
		if st.WithCapability(sc.Capability) >= sc.goal(s, i) {
			reached++
		}
	}
	return reached, len(s.Nodes)
}
