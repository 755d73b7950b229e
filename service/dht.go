package service

import (
	"encoding/binary"
	"fmt"

	"github.com/p2pcore/p2pcore/state"
)

// Commands of the DHT (capability advertisement and lookups) and of the
// HTTP client's rate limit. A service that has no DHT or HTTP (a replay's)
// need not implement DHTService or HTTPService: Execute skips them.

// The DHT and HTTP command kinds.
const (
	CmdProvide       CommandKind = 24
	CmdFindProviders CommandKind = 25
	CmdFoundPeers    CommandKind = 26
	CmdHTTPGrant     CommandKind = 27
)

// Provide stores our provider record of a capability in the DHT. Outcome:
// Advertised.
type Provide struct {
	Capability string
}

// FindProviders looks a capability up. Outcome: ProvidersFound with the
// same Query.
type FindProviders struct {
	Query      uint64
	Capability string
	Max        int
}

// FoundPeers hands the application the answer to its lookup Query
// (node.FindPeers).
type FoundPeers struct {
	Query uint64
	Peers []state.PeerAddr
	Error string
}

// HTTPGrant lets our HTTP client send request Ticket to Peer (OK), or
// fails it with ErrQueueingTimeout.
type HTTPGrant struct {
	Peer   state.PeerID
	Ticket uint64
	OK     bool
}

// CommandKind is CmdProvide.
func (Provide) CommandKind() CommandKind { return CmdProvide }

// CommandKind is CmdFindProviders.
func (FindProviders) CommandKind() CommandKind { return CmdFindProviders }

// CommandKind is CmdFoundPeers.
func (FoundPeers) CommandKind() CommandKind { return CmdFoundPeers }

// CommandKind is CmdHTTPGrant.
func (HTTPGrant) CommandKind() CommandKind { return CmdHTTPGrant }

// DHTService is a service with a DHT.
type DHTService interface {
	Provide(c Provide)
	FindProviders(c FindProviders)
	FoundPeers(c FoundPeers)
}

// HTTPService is a service with an HTTP client over libp2p.
type HTTPService interface {
	HTTPGrant(c HTTPGrant)
}

// executeDHT carries out a DHT or HTTP command on a service that has them.
func executeDHT(svc Service, c Command) {
	d, _ := svc.(DHTService)
	switch c := c.(type) {
	case Provide:
		if d != nil {
			d.Provide(c)
		}
	case FindProviders:
		if d != nil {
			d.FindProviders(c)
		}
	case FoundPeers:
		if d != nil {
			d.FoundPeers(c)
		}
	case HTTPGrant:
		if h, ok := svc.(HTTPService); ok {
			h.HTTPGrant(c)
		}
	}
}

// digestDHT adds a DHT or HTTP command's fields to a digest.
func digestDHT(c Command, b []byte, d *Digest) []byte {
	switch c := c.(type) {
	case Provide:
		b = appendString(b, c.Capability)
	case FindProviders:
		b = appendUvarint(b, c.Query)
		b = appendString(b, c.Capability)
		b = appendUvarint(b, uint64(c.Max))
		d.Size = c.Query
	case FoundPeers:
		b = appendUvarint(b, c.Query)
		b = appendUvarint(b, uint64(len(c.Peers)))
		for _, p := range c.Peers {
			b = appendString(b, string(p.ID))
			b = appendUvarint(b, uint64(len(p.Addrs)))
			for _, a := range p.Addrs {
				b = appendString(b, string(a))
			}
		}
		b = appendString(b, c.Error)
		d.Size = uint64(len(c.Peers))
	case HTTPGrant:
		b = appendString(b, string(c.Peer))
		b = binary.AppendUvarint(b, c.Ticket)
		if c.OK {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		d.Size = c.Ticket
	}
	return b
}

// formatDHT is the text form of a DHT or HTTP command.
func formatDHT(c Command) string {
	switch c := c.(type) {
	case Provide:
		return fmt.Sprintf("provide %s", c.Capability)
	case FindProviders:
		return fmt.Sprintf("find providers of %s (lookup %d, at most %d)", c.Capability, c.Query, c.Max)
	case FoundPeers:
		if c.Error != "" {
			return fmt.Sprintf("found for lookup %d: %s", c.Query, c.Error)
		}
		return fmt.Sprintf("found %d peers for lookup %d", len(c.Peers), c.Query)
	case HTTPGrant:
		if c.OK {
			return fmt.Sprintf("grant http request %d to %s", c.Ticket, c.Peer)
		}
		return fmt.Sprintf("refuse http request %d to %s: queueing timeout", c.Ticket, c.Peer)
	}
	return fmt.Sprintf("%T", c)
}
