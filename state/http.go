package state

import "time"

// HTTP is the state of our HTTP client over libp2p: the per-peer rate
// limit (Algorand's: HTTPRateLimit requests per HTTPRateWindow, waiting
// at most HTTPQueueTimeout for room) and what was exchanged.
type HTTP struct {
	// Peers holds the window and queue of each peer we sent requests to
	// within the last window or that has requests waiting; others are
	// forgotten on Tick.
	Peers map[PeerID]*HTTPPeer
	// Exchanges and Bytes count finished exchanges (ours and the peers')
	// and their response bytes; Refused counts requests that gave up
	// waiting (ErrQueueingTimeout) or found the queue full.
	Exchanges uint64
	Bytes     uint64
	Refused   uint64
}

// HTTPPeer is one peer's rate-limit window.
type HTTPPeer struct {
	// WindowStart is when the current window began; Used counts the
	// requests granted in it.
	WindowStart int64
	Used        int
	// Waiting are the requests waiting for room, oldest first (at most
	// Config.HTTPMaxWaiting).
	Waiting []HTTPWait
}

// HTTPWait is one request waiting for room in its peer's window.
type HTTPWait struct {
	Ticket uint64
	Since  int64
}

// httpDefaults sets the HTTP client's defaults: Algorand's rate limit and
// queueing timeout, and a stream-open timeout (go-algorand hung on
// catchpoint downloads without one).
func (c *Config) httpDefaults() {
	c.HTTPRateLimit = 60
	c.HTTPRateWindow = time.Second
	c.HTTPQueueTimeout = 10 * time.Second
	c.HTTPMaxWaiting = 1024
	c.HTTPStreamTimeout = 10 * time.Second
}

// validateHTTP checks the HTTP settings.
func (c *Config) validateHTTP(bad func(field, format string, args ...any)) {
	if c.HTTPRateLimit <= 0 {
		bad("HTTPRateLimit", "is %d; must be positive", c.HTTPRateLimit)
	}
	if c.HTTPMaxWaiting <= 0 {
		bad("HTTPMaxWaiting", "is %d; must be positive", c.HTTPMaxWaiting)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"HTTPRateWindow", c.HTTPRateWindow}, {"HTTPQueueTimeout", c.HTTPQueueTimeout}, {"HTTPStreamTimeout", c.HTTPStreamTimeout}} {
		if d.v <= 0 {
			bad(d.name, "is %v; must be positive", d.v)
		}
	}
}

// checkHTTP audits the HTTP client's windows.
func (s *State) checkHTTP() []error {
	var errs []error
	for _, id := range SortedKeys(s.HTTP.Peers) {
		p := s.HTTP.Peers[id]
		if p == nil {
			errs = append(errs, violationf("http-nil", "http peer %s: nil entry", id))
			continue
		}
		if p.Used > s.Config.HTTPRateLimit || len(p.Waiting) > s.Config.HTTPMaxWaiting {
			errs = append(errs, violationf("http-window", "http peer %s: %d granted and %d waiting; limits %d and %d",
				id, p.Used, len(p.Waiting), s.Config.HTTPRateLimit, s.Config.HTTPMaxWaiting))
		}
	}
	return errs
}
