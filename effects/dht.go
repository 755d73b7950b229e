package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// runDHT carries out the DHT's and the HTTP client's actions.
func runDHT(s *state.State, a action.Action, out Out) {
	switch a := a.(type) {
	case action.Advertise:
		out.Command(service.Provide{Capability: a.Capability})
	case action.FindProviders:
		out.Command(service.FindProviders{Query: a.Query, Capability: a.Capability, Max: a.Max})
	case action.ProvidersFound:
		// The reducer queued LookupDone and has not forgotten the
		// lookup yet: an application's lookup gets its answer here.
		if q, ok := s.DHT.Queries[a.Query]; ok && q.API {
			peers := a.Peers
			if len(peers) > q.Max {
				peers = peers[:q.Max]
			}
			out.Command(service.FoundPeers{Query: a.Query, Peers: peers, Error: a.Error})
		}
	case action.LookupDone:
		if a.API && a.TimedOut {
			out.Command(service.FoundPeers{Query: a.Query, Error: a.Error})
		}
	case action.HTTPGrant:
		out.Command(service.HTTPGrant{Peer: a.Peer, Ticket: a.Ticket, OK: a.OK})
	}
}
