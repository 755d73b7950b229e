package libp2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kad-dht/records"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/multiformats/go-multihash"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// The Kademlia DHT (go-libp2p-kad-dht) on the node's host: protocols under
// /p2pcore/<network> (so it never joins another network's DHT, nor IPFS's),
// values off, provider records on. It advertises and looks up capabilities
// when the state machine asks (Provide, FindProviders) and reports the
// outcome as input actions; when and how often is the reducers' choice.
// The connections it opens are the host's like any other: reported,
// counted and closed by the state machine (see gate.go).

var _ service.DHTService = (*Service)(nil)

// DHTPrefix is the DHT's protocol prefix for a network.
func DHTPrefix(network string) protocol.ID { return protocol.ID("/p2pcore/" + network) }

// CapabilityKey is the DHT key a capability's provider records live
// under: /p2pcore/<network>/cap/<name>.
func CapabilityKey(network, capability string) string {
	return "/p2pcore/" + network + "/cap/" + capability
}

// capabilityCID is the content ID the DHT stores a capability's records
// under: a raw CIDv1 of the SHA-256 of its key.
func capabilityCID(network, capability string) (cid.Cid, error) {
	mh, err := multihash.Sum([]byte(CapabilityKey(network, capability)), multihash.SHA2_256, -1)
	if err != nil {
		return cid.Undef, err
	}
	return cid.NewCidV1(cid.Raw, mh), nil
}

// dhtMode resolves the configured mode: auto is server when one of the
// host's addresses (its listen addresses with unspecified ones expanded to
// the interfaces') is public, client otherwise.
func dhtMode(m state.DHTMode, listen []ma.Multiaddr) dht.ModeOpt {
	switch m {
	case state.DHTServer:
		return dht.ModeServer
	case state.DHTClient:
		return dht.ModeClient
	}
	for _, a := range listen {
		if manet.IsPublicAddr(a) {
			return dht.ModeServer
		}
	}
	return dht.ModeClient
}

// startDHT starts the DHT if the rules ask for one.
func (s *Service) startDHT() error {
	r := &s.cfg.Rules
	if r.DHTMode == state.DHTOff {
		return nil
	}
	var boot []peer.AddrInfo
	for _, b := range r.Bootnodes {
		id, err := exactID(b.ID)
		if err != nil {
			continue // the state machine refuses it too
		}
		info := peer.AddrInfo{ID: id}
		for _, a := range b.Addrs {
			if m, err := ma.NewMultiaddr(string(a)); err == nil {
				info.Addrs = append(info.Addrs, m)
			}
		}
		boot = append(boot, info)
	}
	d, err := dht.New(s.h,
		dht.Mode(dhtMode(r.DHTMode, s.h.Addrs())),
		dht.ProtocolPrefix(DHTPrefix(s.cfg.Network)),
		dht.DisableValues(),
		dht.BootstrapPeers(boot...),
		// Records we hold for others last CapabilityTTL (Algorand's
		// 3 h, not IPFS's 48 h): a node that stops advertising a
		// capability stops being found for it within that time, and
		// the reducers re-advertise ours at three quarters of it.
		dht.ProviderManagerOpts(records.ProvideValidity(r.CapabilityTTL)),
	)
	if err != nil {
		return fmt.Errorf("dht: %w", err)
	}
	s.dht = d
	if err := d.Bootstrap(s.ctx); err != nil {
		return err
	}
	s.wg.Add(1)
	go s.feedDiscovery(d)
	return nil
}

// feedInterval is how often the DHT's routing table is read for peers new
// to the address book.
const feedInterval = 5 * time.Second

// feedDiscovery reports the peers the DHT's lookups put in its routing
// table as PeersDiscovered, so that the address book — and the dialler,
// by its own rules — knows them. Each peer is reported once (the set is
// forgotten when it outgrows a few routing tables), at most maxFeed per
// report.
func (s *Service) feedDiscovery(d *dht.IpfsDHT) {
	defer s.wg.Done()
	const maxFeed = 64
	seen := map[peer.ID]bool{}
	t := time.NewTicker(feedInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if len(seen) > 4096 {
			clear(seen)
		}
		var found []state.PeerAddr
		for _, p := range d.RoutingTable().ListPeers() {
			if seen[p] || len(found) >= maxFeed {
				continue
			}
			var addrs []state.Addr
			for _, a := range s.h.Peerstore().Addrs(p) {
				addrs = append(addrs, state.Addr(a.String()))
			}
			if len(addrs) == 0 {
				continue
			}
			seen[p] = true
			found = append(found, state.PeerAddr{ID: state.PeerID(p.String()), Addrs: addrs})
		}
		if len(found) > 0 && s.ctx.Err() == nil {
			s.report(action.PeersDiscovered{Peers: found, Source: "dht"})
		}
	}
}

// DHTMode is the mode the DHT runs in ("off" without one).
func (s *Service) DHTMode() string {
	if s.dht == nil {
		return "off"
	}
	if s.dht.Mode() == dht.ModeServer {
		return "server"
	}
	return "client"
}

// DHTRoutingTableSize is the number of peers in the DHT's routing table.
func (s *Service) DHTRoutingTableSize() int {
	if s.dht == nil {
		return 0
	}
	return s.dht.RoutingTable().Size()
}

// dhtDeadline bounds a DHT operation: a second past the state machine's
// own timeout, which therefore decides first.
func (s *Service) dhtDeadline() time.Duration { return s.cfg.Rules.DHTQueryTimeout + time.Second }

// report sends an event from a worker goroutine.
func (s *Service) report(a action.Action) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.emit(a)
}

// Provide stores our provider record of a capability. Outcome:
// Advertised.
func (s *Service) Provide(c service.Provide) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := errors.New("the DHT is off")
		if s.dht != nil {
			var key cid.Cid
			if key, err = capabilityCID(s.cfg.Network, c.Capability); err == nil {
				ctx, cancel := context.WithTimeout(s.ctx, s.dhtDeadline())
				err = s.dht.Provide(ctx, key, true)
				cancel()
			}
		}
		if s.ctx.Err() != nil {
			return
		}
		s.report(action.Advertised{Capability: c.Capability, Error: service.ErrorText(err)})
	}()
}

// FindProviders looks a capability up. Outcome: ProvidersFound with the
// providers that have addresses (we could not dial the others), ourselves
// left out.
func (s *Service) FindProviders(c service.FindProviders) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		found := action.ProvidersFound{Query: c.Query, Capability: c.Capability}
		key, err := capabilityCID(s.cfg.Network, c.Capability)
		switch {
		case s.dht == nil:
			found.Error = "the DHT is off"
		case err != nil:
			found.Error = service.ErrorText(err)
		default:
			ctx, cancel := context.WithTimeout(s.ctx, s.dhtDeadline())
			for info := range s.dht.FindProvidersAsync(ctx, key, c.Max+1) {
				if info.ID == s.h.ID() || len(info.Addrs) == 0 || len(found.Peers) >= c.Max {
					continue
				}
				pa := state.PeerAddr{ID: state.PeerID(info.ID.String())}
				for _, a := range info.Addrs {
					pa.Addrs = append(pa.Addrs, state.Addr(a.String()))
				}
				found.Peers = append(found.Peers, pa)
			}
			if len(found.Peers) == 0 && ctx.Err() != nil {
				found.Error = service.ErrorText(ctx.Err())
			}
			cancel()
		}
		if s.ctx.Err() != nil {
			return
		}
		s.report(found)
	}()
}

// FoundPeers hands the application the answer to its lookup.
func (s *Service) FoundPeers(c service.FoundPeers) {
	if s.cfg.Found != nil {
		s.cfg.Found(c)
	}
}
