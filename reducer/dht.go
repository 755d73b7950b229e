package reducer

import (
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Capabilities through the DHT. Each capability we have is advertised as a
// provider record at start and again at three quarters of CapabilityTTL,
// so it never lapses; a failed advertisement is retried after a jittered
// backoff drawn from the state RNG (Algorand: 1–100 s). For each wanted
// capability the node keeps WantPeersPerCapability entries in its address
// book: while short, it looks the capability up every DHTLookupInterval
// (sooner, jittered, after a failure). What a lookup finds goes into the
// address book like any discovered peer, tagged with the capability; the
// dialler's ordinary rules decide whom to dial.

// lookupMax is how many providers a background lookup asks for: more than
// the node keeps, so that a few unreachable ones do not leave it short.
func lookupMax(cfg *state.Config) int { return max(4*cfg.WantPeersPerCapability, 16) }

// tickDHT starts the advertisements and lookups that are due and gives up
// on those that took longer than DHTQueryTimeout.
func tickDHT(s *state.State, q action.Queue) {
	cfg := &s.Config
	if cfg.DHTMode == state.DHTOff {
		return
	}
	d := &s.DHT
	for _, id := range state.SortedKeys(d.Queries) {
		if lq := d.Queries[id]; lq.Deadline <= s.Now {
			q.Push(action.LookupDone{Query: id, Error: "lookup timed out", TimedOut: true, API: lq.API})
		}
	}
	for i := range d.Adverts {
		a := &d.Adverts[i]
		if a.InFlight && a.Deadline <= s.Now {
			advertFailed(s, a)
		}
		if !a.InFlight && a.NextAt <= s.Now {
			a.InFlight, a.Deadline = true, s.Now+int64(cfg.DHTQueryTimeout)
			q.Push(action.Advertise{Capability: a.Capability})
		}
	}
	for i := range d.Wants {
		w := &d.Wants[i]
		if w.Query != 0 || w.NextAt > s.Now {
			continue
		}
		if s.WithCapability(w.Capability) >= cfg.WantPeersPerCapability {
			w.NextAt, w.Failures = s.Now+int64(cfg.DHTLookupInterval), 0
			continue
		}
		w.Query = startLookup(s, w.Capability, lookupMax(cfg), false)
		q.Push(action.FindProviders{Query: w.Query, Capability: w.Capability, Max: lookupMax(cfg)})
	}
}

// startLookup records a lookup in flight and returns its ID.
func startLookup(s *state.State, capability string, max int, api bool) uint64 {
	d := &s.DHT
	d.NextQuery++
	d.Queries[d.NextQuery] = state.DHTQuery{Capability: capability, Max: max, API: api,
		Deadline: s.Now + int64(s.Config.DHTQueryTimeout)}
	return d.NextQuery
}

// retryDelay is the jittered backoff after the n-th failure in a row:
// uniform in [AdvertiseRetryMin, AdvertiseRetryMin × 2^(n-1)], at most
// AdvertiseRetryMax. Nodes that failed together (the DHT was empty at
// start) thus try again apart.
func retryDelay(s *state.State, failures int) int64 {
	lo, hi := int64(s.Config.AdvertiseRetryMin), int64(s.Config.AdvertiseRetryMax)
	top := lo
	for i := 1; i < failures && top < hi; i++ {
		top *= 2
	}
	top = min(top, hi)
	return lo + s.RNG.Int63n(top-lo+1)
}

func advertFailed(s *state.State, a *state.Advert) {
	a.InFlight = false
	a.Failures++
	a.NextAt = s.Now + retryDelay(s, a.Failures)
	s.DHT.AdvertiseFailures++
}

// advert returns the advertisement of capability c waiting for its answer.
func advert(s *state.State, c string) *state.Advert {
	for i := range s.DHT.Adverts {
		if a := &s.DHT.Adverts[i]; a.Capability == c && a.InFlight {
			return a
		}
	}
	return nil
}

func enabledAdvertised(s *state.State, a action.Advertised) error {
	if advert(s, a.Capability) == nil {
		return fmt.Errorf("%w: no advertisement of %q in flight", ErrNotOutstanding, a.Capability)
	}
	return nil
}

func reduceAdvertised(s *state.State, a action.Advertised) {
	ad := advert(s, a.Capability)
	if a.Error != "" {
		advertFailed(s, ad)
		return
	}
	ad.InFlight, ad.Failures = false, 0
	s.DHT.Advertisements++
	ad.ProvidedAt = s.Now
	ad.NextAt = s.Now + int64(s.Config.CapabilityTTL)*3/4
}

func enabledFindPeers(s *state.State, a action.FindPeers) error {
	switch {
	case s.Config.DHTMode == state.DHTOff:
		return fmt.Errorf("%w: the DHT is off", ErrInvalid)
	case !state.ValidCapability(a.Capability):
		return fmt.Errorf("%w: capability %q", ErrInvalid, a.Capability)
	case a.Max <= 0 || a.Max > s.Config.MaxAddrList:
		return fmt.Errorf("%w: max %d is not in 1..%d", ErrInvalid, a.Max, s.Config.MaxAddrList)
	case len(s.DHT.Queries) >= maxLookups:
		return fmt.Errorf("%w: %d lookups in flight", ErrBusy, len(s.DHT.Queries))
	case s.Stopping:
		return ErrStopping
	}
	return nil
}

// maxLookups bounds the lookups in flight, the application's included.
const maxLookups = 256

func reduceFindPeers(s *state.State, a action.FindPeers, q action.Queue) {
	id := startLookup(s, a.Capability, a.Max, true)
	q.Push(action.FindProviders{Query: id, Capability: a.Capability, Max: a.Max})
}

func enabledProvidersFound(s *state.State, a action.ProvidersFound) error {
	lq, ok := s.DHT.Queries[a.Query]
	if !ok {
		return fmt.Errorf("%w: lookup %d", ErrNotOutstanding, a.Query)
	}
	if lq.Capability != a.Capability {
		return fmt.Errorf("%w: lookup %d is for %q, not %q", ErrInvalid, a.Query, lq.Capability, a.Capability)
	}
	return nil
}

// reduceProvidersFound adds what a lookup found to the address book,
// tagged with the capability, at most the lookup's Max of them.
func reduceProvidersFound(s *state.State, a action.ProvidersFound, q action.Queue) {
	lq := s.DHT.Queries[a.Query]
	for i, pa := range a.Peers {
		if i >= lq.Max {
			break
		}
		learn(s, pa, "")
		if e, ok := s.Discovery.Book[pa.ID]; ok && e.AddCapability(a.Capability) {
			s.Discovery.Dirty = true
		}
	}
	q.Push(action.LookupDone{Query: a.Query, Error: a.Error, API: lq.API})
}

func enabledLookupDone(s *state.State, a action.LookupDone) error {
	if _, ok := s.DHT.Queries[a.Query]; !ok {
		return fmt.Errorf("%w: lookup %d", ErrNotOutstanding, a.Query)
	}
	return nil
}

// reduceLookupDone forgets a lookup and schedules its want's next one:
// after DHTLookupInterval if it found enough, after a jittered backoff if
// it failed or found too few.
func reduceLookupDone(s *state.State, a action.LookupDone) {
	delete(s.DHT.Queries, a.Query)
	s.DHT.Lookups++
	if a.Error != "" {
		s.DHT.LookupFailures++
	}
	for i := range s.DHT.Wants {
		w := &s.DHT.Wants[i]
		if w.Query != a.Query {
			continue
		}
		w.Query = 0
		if a.Error == "" && s.WithCapability(w.Capability) >= s.Config.WantPeersPerCapability {
			w.Failures, w.NextAt = 0, s.Now+int64(s.Config.DHTLookupInterval)
			return
		}
		w.Failures++
		w.NextAt = s.Now + min(retryDelay(s, w.Failures), int64(s.Config.DHTLookupInterval))
	}
}

// preferCapable picks the next outbound dial when a wanted capability has
// fewer than OutboundPerCapability outbound peers: a random candidate
// carrying it (tried or new), or nil to choose as usual. Counted are the
// automatic outbound peers not disconnecting, and the dials this tick has
// already queued are not (a later tick corrects the count).
func preferCapable(s *state.State, tried, fresh []*state.AddrEntry) *state.AddrEntry {
	n := s.Config.OutboundPerCapability
	if n <= 0 || s.Config.DHTMode == state.DHTOff {
		return nil
	}
	for _, c := range s.Config.WantCapabilities {
		have := 0
		for _, id := range state.SortedKeys(s.Peers) {
			p := s.Peers[id]
			if e, ok := s.Discovery.Book[id]; ok && p.Outbound() && p.Status != state.StatusDisconnecting && e.HasCapability(c) {
				have++
			}
		}
		if have >= n {
			continue
		}
		var capable []*state.AddrEntry
		for _, list := range [][]*state.AddrEntry{tried, fresh} {
			for _, e := range list {
				if e.HasCapability(c) {
					capable = append(capable, e)
				}
			}
		}
		if len(capable) > 0 {
			return capable[s.RNG.Intn(len(capable))]
		}
	}
	return nil
}
