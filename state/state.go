// Package state holds the single State of a p2pcore node and its parts.
//
// Only reducers change a State, one action at a time, inside one goroutine.
// The package has no I/O and imports only the standard library: a State is
// plain data with exported fields, so it can be cloned, hashed over a
// canonical encoding, audited with Check, diffed and printed.
package state

// State is everything the node knows. The top-level fields are the sections
// of the state hash; a checkpoint records each section's hash so that a
// replay that diverges can say which part differed.
type State struct {
	// Config is the rule set; it never changes after New.
	Config Config
	// Self is this node's identity and addresses.
	Self Self
	// Now is the time of the action being applied (ns since the Unix
	// epoch, or virtual time in a simulation). It never decreases.
	Now int64
	// RNG is the seeded generator every random choice draws from.
	RNG RNG
	// Peers holds every peer we dial, are connected to, or are closing.
	Peers map[PeerID]*Peer
	// Channels is the flow state of each channel.
	Channels []ChannelState
	// Discovery is the address book.
	Discovery Discovery
	// Gossip holds broadcasts waiting for an application's verdict.
	Gossip Gossip
	// Requests are our requests waiting for their responses.
	Requests Requests
	// Sessions are the session networks and their running sessions.
	Sessions Sessions
	// DHT is capability advertisement and discovery.
	DHT DHT
	// HTTP is the HTTP client's per-peer rate limit.
	HTTP HTTP
	// Bans maps a peer ID or an IP address to its ban.
	Bans map[string]Ban
	// Counters are the node's metrics.
	Counters Counters
	// Stopping is set by Shutdown: the node dials no one and refuses every
	// new connection while its peers close.
	Stopping bool
}

// Self describes the local node.
type Self struct {
	ID PeerID
	// ListenAddrs are the addresses we listen on, announced in Hello.
	// They are never dialled. A peer's word (the Observed field of its
	// Hello) adds nothing here, or any peer could make us shun an address
	// of its choosing, such as a bootnode's.
	ListenAddrs []Addr
}

// New returns the initial state of a node: no peers, the bootnodes in the
// address book, the RNG seeded with seed, and the clock at now.
func New(cfg Config, self Self, seed uint64, now int64) *State {
	s := &State{
		Config: cfg,
		Self:   self,
		Now:    now,
		RNG:    NewRNG(seed),
		Peers:  make(map[PeerID]*Peer),
		Discovery: Discovery{
			Book:        make(map[PeerID]*AddrEntry),
			NewGroups:   make(map[string]int),
			TriedGroups: make(map[string]int),
			LastSave:    now,
		},
		Gossip:   Gossip{Pending: make(map[uint64]PendingGossip), Authors: make(map[PeerID]*Author)},
		Requests: Requests{Out: make(map[uint64]*OutRequest)},
		Sessions: Sessions{Running: make(map[uint64]*Session), Peers: make(map[PeerID]*SessionPeer)},
		Bans:     make(map[string]Ban),
		DHT:      newDHT(&cfg, now),
		HTTP:     HTTP{Peers: make(map[PeerID]*HTTPPeer)},
		Channels: make([]ChannelState, len(cfg.Channels)),
		Counters: Counters{
			SendFailures:      make([]uint64, len(cfg.Channels)),
			PublishFailures:   make([]uint64, len(cfg.Channels)),
			Dropped:           make(map[string]uint64),
			Disconnects:       make(map[Reason]uint64),
			RemoteDisconnects: make(map[Reason]uint64),
			Offences:          make(map[Offence]uint64),
		},
	}
	for _, b := range cfg.Bootnodes {
		if b.ID == self.ID || len(b.Addrs) == 0 {
			continue
		}
		s.BookPut(&AddrEntry{
			ID: b.ID, Addrs: append([]Addr(nil), b.Addrs...), Group: AddrGroup(b.Addrs[0]),
			Boot: true, AddedAt: now, LastSeen: now,
		})
	}
	return s
}

// IsSelf reports whether id or any of addrs is this node.
func (s *State) IsSelf(id PeerID, addrs ...Addr) bool {
	if id != "" && id == s.Self.ID {
		return true
	}
	for _, a := range addrs {
		for _, own := range s.Self.ListenAddrs {
			if a == own {
				return true
			}
		}
	}
	return false
}

// BookPut inserts or replaces an address-book entry, keeping the table and
// group counts in step. Policy (what to evict, when) is the reducer's.
func (s *State) BookPut(e *AddrEntry) {
	d := &s.Discovery
	if old, ok := d.Book[e.ID]; ok {
		s.bookCount(old, -1)
	}
	d.Book[e.ID] = e
	s.bookCount(e, +1)
	d.Dirty = true
}

// BookDelete removes an entry.
func (s *State) BookDelete(id PeerID) {
	d := &s.Discovery
	if old, ok := d.Book[id]; ok {
		s.bookCount(old, -1)
		delete(d.Book, id)
		d.Dirty = true
	}
}

// BookMove changes an entry's table.
func (s *State) BookMove(e *AddrEntry, tried bool) {
	if e.Tried == tried {
		return
	}
	s.bookCount(e, -1)
	e.Tried = tried
	s.bookCount(e, +1)
	s.Discovery.Dirty = true
}

func (s *State) bookCount(e *AddrEntry, delta int) {
	d := &s.Discovery
	groups, count := d.NewGroups, &d.NewCount
	if e.Tried {
		groups, count = d.TriedGroups, &d.TriedCount
	}
	*count += delta
	groups[e.Group] += delta
	if groups[e.Group] == 0 {
		delete(groups, e.Group)
	}
}
