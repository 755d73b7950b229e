package state

import (
	"errors"
	"fmt"
	"iter"
	"maps"
)

// Violation is one broken invariant. Rule names the invariant — stable,
// so that a running node can log the first violation of each kind — and
// Detail says where.
type Violation struct {
	Rule   string
	Detail string
}

// Error describes the violation.
func (v *Violation) Error() string { return v.Detail }

func violationf(rule, format string, args ...any) *Violation {
	return &Violation{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Violations lists the violations in an error returned by Check.
func Violations(err error) []*Violation {
	var out []*Violation
	if v, ok := err.(*Violation); ok {
		return append(out, v)
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if v, ok := e.(*Violation); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// Check audits the invariants of the state and returns every violation
// found (each a *Violation, joined), or nil. Reducers keep these true; the
// fuzzer and the tests call Check after every input, the simulator
// CheckPeers after every input and Check at every checkpoint, a running
// node Check on every Tick and at every checkpoint.
func (s *State) Check() error {
	errs := append(append(append(s.checkPeers(), s.checkBook()...), s.checkSessions()...), append(s.checkDHT(), s.checkHTTP()...)...)
	if !s.Gossip.AuthorsThrottled && !AllOf(s.Gossip.Authors, func(_ PeerID, a *Author) bool { return a == nil || !a.Throttled }) {
		errs = append(errs, violationf("author-throttle-unflagged", "an author is throttled but Gossip.AuthorsThrottled is unset: it would never recover"))
	}
	return errors.Join(errs...)
}

// CheckPeers is the part of Check whose cost grows with the peers rather
// than with the address book: peers, limits, channels, gossip, requests.
// It is cheap enough to run after every input of a large simulation.
func (s *State) CheckPeers() error {
	return errors.Join(append(s.checkPeers(), s.checkSessions()...)...)
}

// checkPeers walks the peers in no order — the common case finds
// nothing, and sorting every input's peers costs more than the checks —
// and, if it finds something, walks them again in order, so that the
// report is the same on every run.
func (s *State) checkPeers() []error {
	if errs := s.checkPeersIn(false); len(errs) > 0 {
		return s.checkPeersIn(true)
	}
	return nil
}

// peers visits the peers, in ID order if sorted.
func (s *State) peers(sorted bool) iter.Seq2[PeerID, *Peer] {
	if !sorted {
		return Unordered(s.Peers)
	}
	return func(yield func(PeerID, *Peer) bool) {
		for _, id := range SortedKeys(s.Peers) {
			if !yield(id, s.Peers[id]) {
				return
			}
		}
	}
}

func (s *State) checkPeersIn(sorted bool) []error {
	var errs []error
	fail := func(rule, format string, args ...any) {
		errs = append(errs, &Violation{Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}
	cfg := &s.Config

	var c PeerCounts
	var groups map[string]PeerID
	for id, p := range s.peers(sorted) {
		if p == nil {
			fail("peer-nil", "peer %s: nil entry", id)
			continue
		}
		c.add(p)
		s.checkPeer(id, p, fail)
		if p.Outbound() && p.Status != StatusDisconnecting && p.Group != "" {
			if other, ok := groups[p.Group]; ok {
				fail("outbound-group-shared", "%s: shares outbound address group %s with %s", lazyPeer(id), p.Group, other)
			}
			if groups == nil {
				groups = make(map[string]PeerID)
			}
			groups[p.Group] = id
		}
	}
	if c.Outbound > cfg.OutboundTarget {
		fail("outbound-over-target", "%d automatic outbound peers exceed the target of %d", c.Outbound, cfg.OutboundTarget)
	}
	if c.Service > cfg.MaxServicePeers {
		fail("service-over-max", "%d service peers exceed the maximum of %d", c.Service, cfg.MaxServicePeers)
	}
	if c.Inbound > cfg.MaxInbound {
		fail("inbound-over-max", "%d inbound peers exceed the maximum of %d", c.Inbound, cfg.MaxInbound)
	}
	if c.PendingInbound > cfg.MaxPendingInbound {
		fail("pending-over-max", "%d pending inbound handshakes exceed the maximum of %d", c.PendingInbound, cfg.MaxPendingInbound)
	}

	s.checkShared(fail)
	return append(errs, s.checkRequests(sorted)...)
}

// checkPeer checks the invariants of one peer entry on its own.
func (s *State) checkPeer(id PeerID, p *Peer, fail func(rule, format string, args ...any)) {
	cfg := &s.Config
	// where is built lazily: Check runs after every action in tests.
	where := lazyPeer(id)
	if p.ID != id {
		fail("peer-id", "%s: entry holds ID %s", where, p.ID)
	}
	if id == s.Self.ID {
		fail("peer-self", "%s: is ourselves", where)
	}
	if p.Since > s.Now {
		fail("peer-since", "%s: status since %d is after now %d", where, p.Since, s.Now)
	}
	switch p.Status {
	case StatusConnecting:
		if p.Dir != Outbound {
			fail("connecting-inbound", "%s: connecting but not outbound", where)
		}
	case StatusHandshaking:
	case StatusReady:
		if !p.Handshake.Done || p.Handshake.Version == 0 {
			fail("ready-without-handshake", "%s: ready without a completed handshake", where)
		}
		if p.Score >= cfg.BanThreshold {
			fail("ready-over-ban-threshold", "%s: ready with score %d at or above the ban threshold", where, p.Score)
		}
	case StatusDisconnecting:
		if p.Reason == ReasonNone {
			fail("disconnecting-without-reason", "%s: disconnecting without a reason", where)
		}
	default:
		fail("peer-status", "%s: invalid status %s in the peer table", where, p.Status)
	}
	if s.Stopping && p.Status != StatusDisconnecting {
		fail("active-while-stopping", "%s: %s while the node is stopping", where, p.Status)
	}
	if p.Status != StatusReady && p.Ping.Outstanding {
		fail("ping-not-ready", "%s: ping outstanding while %s", where, p.Status)
	}
	if p.Dir != Outbound && p.Dir != Inbound {
		fail("peer-direction", "%s: invalid direction %d", where, p.Dir)
	}
	if p.Score < 0 {
		fail("negative-score", "%s: negative score %d", where, p.Score)
	}
	if len(p.Streams) > cfg.MaxInboundStreams {
		fail("streams-over-limit", "%s: %d inbound streams, limit %d", where, len(p.Streams), cfg.MaxInboundStreams)
	}
	for ch, n := range p.InFlight {
		if n < 0 || n > cfg.Channels[ch].QueueLimit {
			fail("send-queue-over-limit", "%s: %d messages in flight on %s, limit %d", where, n, Channel(ch), cfg.Channels[ch].QueueLimit)
		}
	}
}

// CheckPeer is the part of CheckPeers that an input can break when its
// reducer changed only one peer's entry (its budgets and counts) and
// sections that are not per peer, and queued nothing: that peer's
// invariants, and the limits on channels and gossip authors. The
// simulator runs it instead of CheckPeers after such inputs (see
// reducer.PeerLocal); a test checks that the two agree.
func (s *State) CheckPeer(id PeerID) error {
	var errs []error
	fail := func(rule, format string, args ...any) {
		errs = append(errs, &Violation{Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}
	if p, ok := s.Peers[id]; ok {
		if p == nil {
			fail("peer-nil", "peer %s: nil entry", id)
		} else {
			s.checkPeer(id, p, fail)
		}
	}
	s.checkShared(fail)
	return errors.Join(errs...)
}

// checkShared checks the limits that are not per peer.
func (s *State) checkShared(fail func(rule, format string, args ...any)) {
	cfg := &s.Config
	for ch, cs := range s.Channels {
		if cs.InFlight < 0 || cs.InFlight > cfg.Channels[ch].QueueLimit {
			fail("broadcast-queue-over-limit", "channel %s: %d broadcasts in flight, limit %d", Channel(ch), cs.InFlight, cfg.Channels[ch].QueueLimit)
		}
	}
	if n := len(s.Gossip.Authors); n > cfg.MaxGossipAuthors {
		fail("authors-over-limit", "%d gossip authors kept, limit %d", n, cfg.MaxGossipAuthors)
	}
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
				errs = append(errs, violationf("book-entry", "address book %s: bad entry (missing, under the wrong key, ourselves, or with a bad address count)", id))
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
		errs = append(errs, violationf("book-counts", "address book: counts new=%d tried=%d, entries new=%d tried=%d",
			d.NewCount, d.TriedCount, newCount, triedCount))
	}
	if !maps.Equal(newGroups, d.NewGroups) || !maps.Equal(triedGroups, d.TriedGroups) {
		errs = append(errs, violationf("book-group-counts", "address book: group counts new=%v tried=%v, entries hold new=%v tried=%v",
			d.NewGroups, d.TriedGroups, newGroups, triedGroups))
	}
	boot := len(s.Config.Bootnodes)
	if d.NewCount > s.Config.AddrBookNew+boot {
		errs = append(errs, violationf("book-new-over-limit", "address book: %d new entries exceed %d", d.NewCount, s.Config.AddrBookNew))
	}
	if d.TriedCount > s.Config.AddrBookTried+boot {
		errs = append(errs, violationf("book-tried-over-limit", "address book: %d tried entries exceed %d", d.TriedCount, s.Config.AddrBookTried))
	}
	limit := s.Config.AddrBookPerGroup + boot
	if !AllOf(d.NewGroups, func(_ string, n int) bool { return n <= limit }) ||
		!AllOf(d.TriedGroups, func(_ string, n int) bool { return n <= limit }) {
		errs = append(errs, violationf("book-group-over-limit", "address book: a group holds more than %d entries: new=%v tried=%v",
			s.Config.AddrBookPerGroup, d.NewGroups, d.TriedGroups))
	}
	return errs
}

// lazyPeer formats as "peer <id>" only when an error is actually built.
type lazyPeer PeerID

func (l lazyPeer) String() string { return "peer " + string(l) }

// checkRequests: every request of ours waits on a present peer and a
// request channel, within the deadline it was given and no later than
// the next ID; each peer's count matches; no one is over the cap in
// either direction.
func (s *State) checkRequests(sorted bool) []error {
	var errs []error
	cfg := &s.Config
	valid := func(id uint64, o *OutRequest) bool {
		_, present := s.Peers[o.Peer]
		return present && id > 0 && id <= s.Requests.NextID && cfg.HasChannel(o.Channel) &&
			cfg.Channels[o.Channel].Kind == Request && o.Deadline <= s.Now+int64(cfg.RequestTimeout)
	}
	if !AllOf(s.Requests.Out, valid) {
		// Only now walk in order, so the report is the same on every run.
		for _, id := range SortedKeys(s.Requests.Out) {
			if o := s.Requests.Out[id]; !valid(id, o) {
				errs = append(errs, violationf("request-entry", "request %d: %+v (a missing peer, a bad channel or ID, or a deadline too far)", id, *o))
			}
		}
	}
	per := CountBy(s.Requests.Out, func(o *OutRequest) PeerID { return o.Peer })
	for id, p := range s.peers(sorted) {
		if p.OutRequests != per[id] {
			errs = append(errs, violationf("request-count", "peer %s: counts %d requests outstanding, %d wait", id, p.OutRequests, per[id]))
		}
		if p.OutRequests > cfg.MaxRequestsPerPeer || len(p.Serving) > cfg.MaxRequestsPerPeer {
			errs = append(errs, violationf("requests-over-limit", "peer %s: %d requests out and %d served, limit %d each", id, p.OutRequests, len(p.Serving), cfg.MaxRequestsPerPeer))
		}
	}
	return errs
}
