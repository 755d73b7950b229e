package simnet

import (
	"cmp"
	"crypto/sha256"
	"math/bits"
	"slices"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// A deterministic model of the Kademlia DHT, enough to simulate discovery
// by capability: provider records are stored on the DHTReplication
// servers closest to the key by XOR distance (of SHA-256 hashes, as
// Kademlia's keyspace), a lookup asks the servers closest to the key and
// collects their records. Each takes about log2(servers)/2 round trips,
// drawn from the network's latency; a round trip lost to the network's
// loss costs DHTRPCTimeout more, as a real lookup waits out an
// unanswered RPC and asks another server. Only servers up and reachable
// across the current partition take part, so a cut-off node finds
// nothing and a crashed server's records are gone.
//
// An endpoint joins the DHT as a server the first time it uses it (the
// sim's nodes listen on public addresses, so "auto" means server, and a
// node with the DHT off never does).

// DHTReplication is how many servers hold each provider record (Kademlia's
// k); DHTRPCTimeout is what a lost round trip costs.
const (
	DHTReplication = 20
	DHTRPCTimeout  = time.Second
)

// dhtModel is the network's DHT.
type dhtModel struct {
	// servers in the order they joined.
	servers []*Endpoint
	joined  map[*Endpoint]bool
	// records held by each server: key → provider → expiry.
	records map[*Endpoint]map[string]map[*Endpoint]int64
	// ttl of a stored record: the default CapabilityTTL, which the
	// production service gives go-libp2p-kad-dht as its record validity.
	ttl int64
}

func (n *Network) dhtOf() *dhtModel {
	if n.dht == nil {
		n.dht = &dhtModel{joined: map[*Endpoint]bool{}, records: map[*Endpoint]map[string]map[*Endpoint]int64{},
			ttl: int64(3 * time.Hour)}
	}
	return n.dht
}

func (m *dhtModel) join(ep *Endpoint) {
	if !m.joined[ep] {
		m.joined[ep] = true
		m.servers = append(m.servers, ep)
	}
}

// dhtKey is a capability's DHT key; the network name is the sim's own.
func dhtKey(capability string) string { return "/p2pcore/cap/" + capability }

// closest lists the up servers reachable from ep, nearest to key first.
func (n *Network) closest(ep *Endpoint, key string) []*Endpoint {
	m := n.dhtOf()
	target := sha256.Sum256([]byte(key))
	type cand struct {
		ep   *Endpoint
		dist [32]byte
	}
	var cs []cand
	for _, s := range m.servers {
		if s.down || s.silent || !n.reachable(ep, s) {
			continue
		}
		h := sha256.Sum256([]byte(s.ID))
		var d [32]byte
		for i := range d {
			d[i] = h[i] ^ target[i]
		}
		cs = append(cs, cand{s, d})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if c := slices.Compare(a.dist[:], b.dist[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.ep.ID, b.ep.ID)
	})
	out := make([]*Endpoint, 0, min(len(cs), DHTReplication))
	for i := 0; i < len(cs) && i < DHTReplication; i++ {
		out = append(out, cs[i].ep)
	}
	return out
}

// dhtDelay is how long an operation over servers servers takes.
func (n *Network) dhtDelay(servers int) int64 {
	hops := max(1, bits.Len(uint(servers))/2)
	var d int64
	for range hops {
		d += n.latency() + n.latency()
		if n.lost() {
			d += int64(DHTRPCTimeout)
		}
	}
	return d
}

// Provide stores our provider record on the closest servers, after the
// lookup that finds them. Outcome: Advertised.
func (ep *Endpoint) Provide(c service.Provide) {
	n, m := ep.net, ep.net.dhtOf()
	m.join(ep)
	key := dhtKey(c.Capability)
	n.At(n.now+n.dhtDelay(len(m.servers)), func() {
		if ep.down {
			return
		}
		holders := n.closest(ep, key)
		// A server needs another to store at: alone, as a real DHT with
		// an empty routing table, the advertisement fails.
		if len(holders) <= 1 {
			ep.Input(action.Advertised{Capability: c.Capability, Error: "no DHT servers reachable"})
			return
		}
		for _, h := range holders {
			byKey := m.records[h]
			if byKey == nil {
				byKey = map[string]map[*Endpoint]int64{}
				m.records[h] = byKey
			}
			if byKey[key] == nil {
				byKey[key] = map[*Endpoint]int64{}
			}
			byKey[key][ep] = n.now + m.ttl
		}
		ep.Input(action.Advertised{Capability: c.Capability})
	})
}

// FindProviders asks the closest servers for their records of the key.
// Outcome: ProvidersFound.
func (ep *Endpoint) FindProviders(c service.FindProviders) {
	n, m := ep.net, ep.net.dhtOf()
	m.join(ep)
	key := dhtKey(c.Capability)
	n.At(n.now+n.dhtDelay(len(m.servers)), func() {
		if ep.down {
			return
		}
		holders := n.closest(ep, key)
		if len(holders) <= 1 {
			ep.Input(action.ProvidersFound{Query: c.Query, Capability: c.Capability, Error: "no DHT servers reachable"})
			return
		}
		seen := map[*Endpoint]bool{}
		var found []*Endpoint
		for _, h := range holders {
			recs := m.records[h][key]
			for _, p := range sortedEndpoints(recs) {
				if recs[p] > n.now && p != ep && !seen[p] {
					seen[p] = true
					found = append(found, p)
				}
			}
		}
		slices.SortFunc(found, func(a, b *Endpoint) int { return cmp.Compare(a.ID, b.ID) })
		var peers []state.PeerAddr
		for _, p := range found {
			if len(peers) == c.Max {
				break
			}
			peers = append(peers, state.PeerAddr{ID: p.ID, Addrs: []state.Addr{p.Addr}})
		}
		ep.Input(action.ProvidersFound{Query: c.Query, Capability: c.Capability, Peers: peers})
	})
}

// FoundPeers hands the answer of a lookup to OnFound, if set.
func (ep *Endpoint) FoundPeers(c service.FoundPeers) {
	if ep.OnFound != nil {
		ep.OnFound(c)
	}
}

// sortedEndpoints lists a record set's providers by ID.
func sortedEndpoints(m map[*Endpoint]int64) []*Endpoint {
	out := make([]*Endpoint, 0, len(m))
	for ep := range m {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b *Endpoint) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

var _ service.DHTService = (*Endpoint)(nil)
