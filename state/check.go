package state

import (
	"errors"
	"fmt"
	"maps"
)

// Check audits the invariants of the state and returns every violation
// found, or nil. Reducers keep these true; the simulator and the fuzzer call
// Check after every action, a running node at every checkpoint.
func (s *State) Check() error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	cfg := &s.Config

	var c PeerCounts
	var groups map[string]PeerID
	for _, id := range SortedKeys(s.Peers) {
		p := s.Peers[id]
		if p == nil {
			fail("peer %s: nil entry", id)
			continue
		}
		c.add(p)
		// where is built lazily: Check runs after every action in tests.
		where := lazyPeer(id)
		if p.ID != id {
			fail("%s: entry holds ID %s", where, p.ID)
		}
		if id == s.Self.ID {
			fail("%s: is ourselves", where)
		}
		if p.Since > s.Now {
			fail("%s: status since %d is after now %d", where, p.Since, s.Now)
		}
		switch p.Status {
		case StatusConnecting:
			if p.Dir != Outbound {
				fail("%s: connecting but not outbound", where)
			}
		case StatusHandshaking:
		case StatusReady:
			if !p.Handshake.Done || p.Handshake.Version == 0 {
				fail("%s: ready without a completed handshake", where)
			}
			if p.Score >= cfg.BanThreshold {
				fail("%s: ready with score %d at or above the ban threshold", where, p.Score)
			}
		case StatusDisconnecting:
			if p.Reason == ReasonNone {
				fail("%s: disconnecting without a reason", where)
			}
		default:
			fail("%s: invalid status %s in the peer table", where, p.Status)
		}
		if s.Stopping && p.Status != StatusDisconnecting {
			fail("%s: %s while the node is stopping", where, p.Status)
		}
		if p.Status != StatusReady && p.Ping.Outstanding {
			fail("%s: ping outstanding while %s", where, p.Status)
		}
		if p.Dir != Outbound && p.Dir != Inbound {
			fail("%s: invalid direction %d", where, p.Dir)
		}
		if p.Score < 0 {
			fail("%s: negative score %d", where, p.Score)
		}
		if len(p.Streams) > cfg.MaxInboundStreams {
			fail("%s: %d inbound streams, limit %d", where, len(p.Streams), cfg.MaxInboundStreams)
		}
		for ch, n := range p.InFlight {
			if n < 0 || n > cfg.Channels[ch].QueueLimit {
				fail("%s: %d messages in flight on %s, limit %d", where, n, Channel(ch), cfg.Channels[ch].QueueLimit)
			}
		}
		if p.Outbound() && p.Status != StatusDisconnecting && p.Group != "" {
			if other, ok := groups[p.Group]; ok {
				fail("%s: shares outbound address group %s with %s", where, p.Group, other)
			}
			if groups == nil {
				groups = make(map[string]PeerID)
			}
			groups[p.Group] = id
		}
	}
	if c.Outbound > cfg.OutboundTarget {
		fail("%d automatic outbound peers exceed the target of %d", c.Outbound, cfg.OutboundTarget)
	}
	if c.Inbound > cfg.MaxInbound {
		fail("%d inbound peers exceed the maximum of %d", c.Inbound, cfg.MaxInbound)
	}
	if c.PendingInbound > cfg.MaxPendingInbound {
		fail("%d pending inbound handshakes exceed the maximum of %d", c.PendingInbound, cfg.MaxPendingInbound)
	}

	for ch, cs := range s.Channels {
		if cs.InFlight < 0 || cs.InFlight > cfg.Channels[ch].QueueLimit {
			fail("channel %s: %d broadcasts in flight, limit %d", Channel(ch), cs.InFlight, cfg.Channels[ch].QueueLimit)
		}
	}

	errs = append(errs, s.checkBook()...)
	return errors.Join(errs...)
}

func (s *State) checkBook() []error {
	var errs []error
	d := &s.Discovery
	valid := func(id PeerID, e *AddrEntry) bool {
		return e != nil && e.ID == id && id != s.Self.ID &&
			len(e.Addrs) > 0 && (len(e.Addrs) <= s.Config.MaxAddrsPerPeer || e.Boot)
	}
	if !AllOf(d.Book, valid) {
		// Only now walk in order, so the report is the same on every run.
		for _, id := range SortedKeys(d.Book) {
			if e := d.Book[id]; !valid(id, e) {
				errs = append(errs, fmt.Errorf("address book %s: bad entry (missing, under the wrong key, ourselves, or with a bad address count)", id))
			}
		}
	}
	// Count entries per group of each table; entries of the other table
	// fall under a key no group can have.
	const other = "\x00"
	byGroup := func(tried bool) (map[string]int, int) {
		m := CountBy(d.Book, func(e *AddrEntry) string {
			if e == nil || e.Tried != tried {
				return other
			}
			return e.Group
		})
		n := len(d.Book) - m[other]
		delete(m, other)
		return m, n
	}
	newGroups, newCount := byGroup(false)
	triedGroups, triedCount := byGroup(true)
	if newCount != d.NewCount || triedCount != d.TriedCount {
		errs = append(errs, fmt.Errorf("address book: counts new=%d tried=%d, entries new=%d tried=%d",
			d.NewCount, d.TriedCount, newCount, triedCount))
	}
	if !maps.Equal(newGroups, d.NewGroups) || !maps.Equal(triedGroups, d.TriedGroups) {
		errs = append(errs, fmt.Errorf("address book: group counts new=%v tried=%v, entries hold new=%v tried=%v",
			d.NewGroups, d.TriedGroups, newGroups, triedGroups))
	}
	boot := len(s.Config.Bootnodes)
	if d.NewCount > s.Config.AddrBookNew+boot {
		errs = append(errs, fmt.Errorf("address book: %d new entries exceed %d", d.NewCount, s.Config.AddrBookNew))
	}
	if d.TriedCount > s.Config.AddrBookTried+boot {
		errs = append(errs, fmt.Errorf("address book: %d tried entries exceed %d", d.TriedCount, s.Config.AddrBookTried))
	}
	limit := s.Config.AddrBookPerGroup + boot
	if !AllOf(d.NewGroups, func(_ string, n int) bool { return n <= limit }) ||
		!AllOf(d.TriedGroups, func(_ string, n int) bool { return n <= limit }) {
		errs = append(errs, fmt.Errorf("address book: a group holds more than %d entries: new=%v tried=%v",
			s.Config.AddrBookPerGroup, d.NewGroups, d.TriedGroups))
	}
	return errs
}

// lazyPeer formats as "peer <id>" only when an error is actually built.
type lazyPeer PeerID

func (l lazyPeer) String() string { return "peer " + string(l) }
