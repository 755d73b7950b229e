package state

// Discovery is what the node knows about other nodes' addresses.
//
// The address book follows Bitcoin Core's addrman in spirit: addresses
// heard from others go into the "new" table; an address we completed a
// handshake with moves to the "tried" table. Both tables are bounded, and
// so is each address group (/16 for IPv4, /32 for IPv6) within a table, so a
// peer that floods us with addresses from one network cannot fill the book.
type Discovery struct {
	Book map[PeerID]*AddrEntry
	// Entries per address group in each table; kept in step with Book and
	// audited by Check.
	NewGroups   map[string]int
	TriedGroups map[string]int
	NewCount    int
	TriedCount  int
	// Dirty is set when the book or the bans changed since the last save.
	Dirty    bool
	LastSave int64
	// LastReask is when a node short of peers to dial last asked a peer it
	// had asked before: at most one such request per AddrRefresh.
	LastReask int64
	// Announced is set once we announced our own address to a peer.
	Announced uint64
}

// AddrEntry is one known peer and how to reach it.
type AddrEntry struct {
	ID    PeerID
	Addrs []Addr
	Group string
	// Tried is set when the entry is in the tried table.
	Tried bool
	// Boot marks a configured bootnode; it is never evicted.
	Boot bool
	// Source is the peer that told us about this address ("" if configured
	// or learned from a handshake).
	Source PeerID

	AddedAt  int64
	LastSeen int64
	// LastAttempt and LastSuccess are the last dial and the last completed
	// handshake.
	LastAttempt int64
	LastSuccess int64
	// Failures counts consecutive failed attempts; RetryAt is the earliest
	// time of the next dial (exponential backoff with jitter).
	Failures int
	RetryAt  int64
	// TimedOut is set when the last failed dial got no answer within
	// DialTimeout or the handshake timeout: the peer is frozen or cut
	// off, unlike one that refused, as a full peer does. It is cleared
	// with Failures, and not persisted (PeerStore): after a restart a peer
	// gets a fresh chance.
	TimedOut bool `json:",omitempty"`
	// Caps are the capabilities (Algorand's peer roles: archival, relay,
	// gossip, or the application's) the peer was found to advertise,
	// sorted, at most MaxCapabilities.
	Caps []string `json:",omitempty"`
}

// PeerStore is what is persisted in the data dir and loaded at start: the
// address book and the bans. It is plain data, ordered, so its encoding is
// deterministic.
type PeerStore struct {
	Entries []AddrEntry
	Bans    []BanEntry
}

// PeerStore returns a copy of what is persisted: the address book and the
// bans, in ascending order.
func (s *State) PeerStore() PeerStore {
	var ps PeerStore
	for _, id := range SortedKeys(s.Discovery.Book) {
		e := *s.Discovery.Book[id]
		e.TimedOut = false
		e.Addrs = append([]Addr(nil), e.Addrs...)
		e.Caps = append([]string(nil), e.Caps...)
		ps.Entries = append(ps.Entries, e)
	}
	for _, target := range SortedKeys(s.Bans) {
		ps.Bans = append(ps.Bans, BanEntry{Target: target, Ban: s.Bans[target]})
	}
	return ps
}
