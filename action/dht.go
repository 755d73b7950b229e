package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Capability advertisement and discovery through the Kademlia DHT (see
// state/dht.go). The service answers Advertise with Advertised and
// FindProviders with ProvidersFound; FindPeers is the application's own
// lookup (node.FindPeers).

// Advertised is the service's answer to an advertisement: the provider
// record of Capability was stored (Error empty) or not.
type Advertised struct {
	Capability string
	Error      string
}

// Kind is KindAdvertised.
func (Advertised) Kind() Kind { return KindAdvertised }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Advertised) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.String(a.Capability)
	e.String(a.Error)
}

// ProvidersFound is the service's answer to lookup Query: the peers that
// advertise Capability, with their addresses (at most the lookup's Max),
// or an error.
type ProvidersFound struct {
	Query      uint64
	Capability string
	Peers      []state.PeerAddr
	Error      string
}

// Kind is KindProvidersFound.
func (ProvidersFound) Kind() Kind { return KindProvidersFound }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a ProvidersFound) EncodeCBOR(e *codec.Encoder) {
	e.Array(4)
	e.Uint(a.Query)
	e.String(a.Capability)
	encodePeerAddrs(e, a.Peers)
	e.String(a.Error)
}

// FindPeers is the application asking for up to Max peers that advertise
// Capability; the lookup's ID is the state's DHT.NextQuery after it.
type FindPeers struct {
	Capability string
	Max        int
}

// Kind is KindFindPeers.
func (FindPeers) Kind() Kind { return KindFindPeers }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a FindPeers) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.String(a.Capability)
	e.Int(int64(a.Max))
}

// Advertise asks the service to store our provider record of Capability.
type Advertise struct {
	Capability string
}

// Kind is KindAdvertise.
func (Advertise) Kind() Kind { return KindAdvertise }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Advertise) EncodeCBOR(e *codec.Encoder) {
	e.Array(1)
	e.String(a.Capability)
}

// FindProviders asks the service for up to Max providers of Capability,
// as lookup Query.
type FindProviders struct {
	Query      uint64
	Capability string
	Max        int
}

// Kind is KindFindProviders.
func (FindProviders) Kind() Kind { return KindFindProviders }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a FindProviders) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Uint(a.Query)
	e.String(a.Capability)
	e.Int(int64(a.Max))
}

// LookupDone ends lookup Query: answered, or given up after
// Config.DHTQueryTimeout (TimedOut). API marks the application's own
// lookup, whose caller a timeout must answer.
type LookupDone struct {
	Query    uint64
	Error    string
	TimedOut bool
	API      bool
}

// Kind is KindLookupDone.
func (LookupDone) Kind() Kind { return KindLookupDone }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a LookupDone) EncodeCBOR(e *codec.Encoder) {
	e.Array(4)
	e.Uint(a.Query)
	e.String(a.Error)
	e.Bool(a.TimedOut)
	e.Bool(a.API)
}

func init() {
	register(KindAdvertised, "Advertised", true, func(d *codec.Decoder) (a Advertised) {
		d.ArrayLen(2)
		a.Capability, a.Error = str(d), str(d)
		return
	})
	register(KindProvidersFound, "ProvidersFound", true, func(d *codec.Decoder) (a ProvidersFound) {
		d.ArrayLen(4)
		a.Query, a.Capability = d.Uint(), str(d)
		a.Peers, a.Error = decodePeerAddrs(d), str(d)
		return
	})
	register(KindFindPeers, "FindPeers", true, func(d *codec.Decoder) (a FindPeers) {
		d.ArrayLen(2)
		a.Capability, a.Max = str(d), int(d.Int())
		return
	})
	register(KindAdvertise, "Advertise", false, func(d *codec.Decoder) (a Advertise) {
		d.ArrayLen(1)
		a.Capability = str(d)
		return
	})
	register(KindFindProviders, "FindProviders", false, func(d *codec.Decoder) (a FindProviders) {
		d.ArrayLen(3)
		a.Query, a.Capability, a.Max = d.Uint(), str(d), int(d.Int())
		return
	})
	register(KindLookupDone, "LookupDone", false, func(d *codec.Decoder) (a LookupDone) {
		d.ArrayLen(4)
		a.Query, a.Error, a.TimedOut, a.API = d.Uint(), str(d), d.Bool(), d.Bool()
		return
	})
}
