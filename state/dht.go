package state

import (
	"fmt"
	"slices"
	"time"
)

// DHTMode says whether and how the node takes part in the Kademlia DHT.
type DHTMode uint8

// DHT modes. Auto is server when the node listens on a public address
// (others can reach it, so it should store records for them) and client
// otherwise; the service decides it from its listen addresses once, at
// start, so that the choice never depends on a timing.
const (
	DHTOff DHTMode = iota
	DHTClient
	DHTServer
	DHTAuto
)

var dhtModeNames = []string{"off", "client", "server", "auto"}

// String names the value for logs and traces.
func (m DHTMode) String() string { return enumText(dhtModeNames, int(m), "dht mode") }

// MarshalText names the mode.
func (m DHTMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses a mode name.
func (m *DHTMode) UnmarshalText(b []byte) error {
	v, err := enumParse(dhtModeNames, b, "dht mode")
	*m = DHTMode(v)
	return err
}

// Well-known capability names (Algorand's peer roles). An application
// may advertise and look for names of its own.
const (
	CapArchival = "archival"
	CapGossip   = "gossip"
	CapRelay    = "relay"
)

// MaxCapabilities bounds the capabilities a node advertises or wants, and
// those kept for one address-book entry: a peer cannot grow an entry by
// claiming many.
const MaxCapabilities = 8

// ValidCapability reports whether name may name a capability: the rules
// of a channel name (it becomes part of a DHT key).
func ValidCapability(name string) bool { return ValidChannelName(name) }

// DHT is the state of capability advertisement and discovery.
type DHT struct {
	// Adverts follow Config.Capabilities, in the same order.
	Adverts []Advert
	// Wants follow Config.WantCapabilities, in the same order.
	Wants []Want
	// Queries are lookups in flight, by ID; NextQuery is the last ID
	// given.
	Queries   map[uint64]DHTQuery
	NextQuery uint64
	// Counters: advertisements stored and failed, lookups ended and
	// failed.
	Advertisements, AdvertiseFailures uint64
	Lookups, LookupFailures           uint64
}

// Advert is the schedule of one capability we advertise as a DHT
// provider record.
type Advert struct {
	Capability string
	// InFlight is set while the service is advertising it; Deadline is
	// when we stop waiting for its answer.
	InFlight bool
	Deadline int64
	// ProvidedAt is the time of the last successful advertisement (0:
	// none yet); NextAt is when to advertise next: before the record
	// expires after a success, after a jittered backoff after a failure.
	ProvidedAt int64
	NextAt     int64
	// Failures counts failed advertisements since the last success.
	Failures int
}

// Want is the schedule of one capability the node keeps at least
// Config.WantPeersPerCapability address-book entries of.
type Want struct {
	Capability string
	// Query is the lookup in flight for it (0: none).
	Query uint64
	// NextAt is the earliest time of the next lookup.
	NextAt int64
	// Failures counts lookups in a row that failed or found too few.
	Failures int
}

// DHTQuery is one capability lookup in flight.
type DHTQuery struct {
	Capability string
	Max        int
	Deadline   int64
	// API is set for a lookup the application asked for (FindPeers),
	// whose answer goes back to it.
	API bool
}

// newDHT is the DHT state at start: every advertisement and lookup due
// at once.
func newDHT(cfg *Config, now int64) DHT {
	d := DHT{Queries: make(map[uint64]DHTQuery)}
	if cfg.DHTMode == DHTOff {
		return d
	}
	for _, c := range cfg.Capabilities {
		d.Adverts = append(d.Adverts, Advert{Capability: c, NextAt: now})
	}
	for _, c := range cfg.WantCapabilities {
		d.Wants = append(d.Wants, Want{Capability: c, NextAt: now})
	}
	return d
}

// HasCapability reports whether the entry carries capability c.
func (e *AddrEntry) HasCapability(c string) bool {
	_, found := slices.BinarySearch(e.Caps, c)
	return found
}

// AddCapability adds c to the entry's sorted capabilities, up to
// MaxCapabilities; it reports whether the entry changed.
func (e *AddrEntry) AddCapability(c string) bool {
	i, found := slices.BinarySearch(e.Caps, c)
	if found || len(e.Caps) >= MaxCapabilities {
		return false
	}
	e.Caps = slices.Insert(e.Caps, i, c)
	return true
}

// WithCapability counts the address-book entries that carry capability
// c and are not banned.
func (s *State) WithCapability(c string) int {
	n := 0
	for _, id := range SortedKeys(s.Discovery.Book) {
		e := s.Discovery.Book[id]
		if e.HasCapability(c) && !s.Banned(id, e.Addrs...) {
			n++
		}
	}
	return n
}

// dhtDefaults sets the DHT's defaults (Algorand's numbers where it has
// them): the DHT is off unless asked for.
func (c *Config) dhtDefaults() {
	c.DHTMode = DHTOff
	// Empty, not nil: a config file read back gives empty lists.
	c.Capabilities, c.WantCapabilities = []string{}, []string{}
	c.WantPeersPerCapability = 4
	c.CapabilityTTL = 3 * time.Hour
	c.AdvertiseRetryMin = time.Second
	c.AdvertiseRetryMax = 100 * time.Second
	c.DHTLookupInterval = 10 * time.Second
	c.DHTQueryTimeout = 30 * time.Second
}

// validateDHT checks the DHT settings.
func (c *Config) validateDHT(bad func(field, format string, args ...any)) {
	if c.DHTMode > DHTAuto {
		bad("DHTMode", "unknown mode %d", c.DHTMode)
	}
	for _, list := range []struct {
		name string
		caps []string
	}{{"Capabilities", c.Capabilities}, {"WantCapabilities", c.WantCapabilities}} {
		if len(list.caps) > MaxCapabilities {
			bad(list.name, "has %d names; at most %d", len(list.caps), MaxCapabilities)
		}
		for i, name := range list.caps {
			if !ValidCapability(name) {
				bad(fmt.Sprintf("%s[%d]", list.name, i), "%q: want 1 to %d of a-z, 0-9, '_', '-', '.'", name, MaxChannelName)
			} else if slices.Index(list.caps, name) != i {
				bad(fmt.Sprintf("%s[%d]", list.name, i), "%q is listed twice", name)
			}
		}
	}
	if c.WantPeersPerCapability < 0 {
		bad("WantPeersPerCapability", "is %d; must not be negative", c.WantPeersPerCapability)
	}
	if c.OutboundPerCapability < 0 || c.OutboundPerCapability > c.OutboundTarget {
		bad("OutboundPerCapability", "is %d; must be in 0..OutboundTarget (%d)", c.OutboundPerCapability, c.OutboundTarget)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"CapabilityTTL", c.CapabilityTTL}, {"AdvertiseRetryMin", c.AdvertiseRetryMin}, {"AdvertiseRetryMax", c.AdvertiseRetryMax},
		{"DHTLookupInterval", c.DHTLookupInterval}, {"DHTQueryTimeout", c.DHTQueryTimeout}} {
		if d.v <= 0 {
			bad(d.name, "is %v; must be positive", d.v)
		}
	}
	if c.AdvertiseRetryMax < c.AdvertiseRetryMin {
		bad("AdvertiseRetryMax", "%v is below AdvertiseRetryMin %v", c.AdvertiseRetryMax, c.AdvertiseRetryMin)
	}
}

// checkDHT audits the DHT state: one schedule per configured capability,
// in order, and every lookup in flight known to its want.
func (s *State) checkDHT() []error {
	var errs []error
	fail := func(rule, format string, args ...any) { errs = append(errs, violationf(rule, format, args...)) }
	d := &s.DHT
	if s.Config.DHTMode != DHTOff {
		if len(d.Adverts) != len(s.Config.Capabilities) || len(d.Wants) != len(s.Config.WantCapabilities) {
			fail("dht-schedules", "%d adverts and %d wants for %d capabilities and %d wanted", len(d.Adverts), len(d.Wants), len(s.Config.Capabilities), len(s.Config.WantCapabilities))
			return errs
		}
	}
	for i, w := range d.Wants {
		if w.Query == 0 {
			continue
		}
		q, ok := d.Queries[w.Query]
		if !ok || q.API || q.Capability != w.Capability || i >= len(s.Config.WantCapabilities) {
			fail("dht-want-query", "want %s: lookup %d is not in flight for it", w.Capability, w.Query)
		}
	}
	for _, id := range SortedKeys(d.Queries) {
		if id == 0 || id > d.NextQuery {
			fail("dht-query-id", "lookup %d is beyond the last ID given (%d)", id, d.NextQuery)
		}
	}
	for _, id := range SortedKeys(s.Discovery.Book) {
		e := s.Discovery.Book[id]
		if len(e.Caps) > MaxCapabilities || !slices.IsSorted(e.Caps) {
			fail("book-caps", "%s: capabilities %v are over %d or not sorted", id, e.Caps, MaxCapabilities)
		}
	}
	return errs
}
