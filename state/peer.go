package state

// Status is where a peer is in its life cycle:
//
//	Connecting(out) ─> Handshaking ─> Ready ─> Disconnecting ─> Disconnected
//	  inbound connections start at Handshaking
//
// Every status records the time it was entered (Peer.Since). A peer leaves
// the Peers map when it reaches Disconnected; Disconnecting is left only
// when the service confirms the close.
type Status uint8

// Peer statuses.
const (
	StatusNone Status = iota
	StatusConnecting
	StatusHandshaking
	StatusReady
	StatusDisconnecting
	StatusDisconnected
)

var statusNames = []string{"none", "connecting", "handshaking", "ready", "disconnecting", "disconnected"}

// String names the value for logs and traces.
func (s Status) String() string { return enumText(statusNames, int(s), "status") }

// MarshalText names the status.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a status name.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := enumParse(statusNames, b, "status")
	*s = Status(v)
	return err
}

// Connected reports whether the transport connection is up (handshaking or
// ready), which is when the peer may send us messages.
func (s Status) Connected() bool { return s == StatusHandshaking || s == StatusReady }

// Peer is one remote node we are dialling, connected to, or closing.
type Peer struct {
	ID PeerID
	// Dir is who opened the connection; Manual marks a dial asked for
	// through the API, which does not count against OutboundTarget.
	Dir    Direction
	Manual bool
	// Service marks an outbound connection another part of go-libp2p
	// opened (the DHT, GossipSub, identify) while our outbound places
	// were taken: it counts against MaxServicePeers, not OutboundTarget,
	// and is closed at ServiceUntil (ServicePeerLinger after it came).
	Service      bool
	ServiceUntil int64
	// Addr is the remote address of the connection (for an outbound dial,
	// the addresses tried are in Dialled).
	Addr    Addr
	Dialled []Addr
	// Group is the address group of Addr, used for outbound diversity.
	Group string

	Status Status
	Since  int64
	// Open is set once the transport connection is up; a peer closed while
	// still Connecting never had one, so nothing is sent to it.
	Open bool
	// Reason is why we are closing (set in Disconnecting); RemoteReason is
	// what the peer told us before it closed.
	Reason       Reason
	RemoteReason Reason

	Handshake Handshake
	Ping      Ping

	// LastRecv is when the last message from the peer arrived; a peer idle
	// for PingInterval is pinged.
	LastRecv int64
	// Score is the misbehaviour score; at BanThreshold the peer is dropped.
	Score int

	// Peer exchange: AddrAsked when we sent AddrListRequest, AddrReceived
	// when its answer came, AddrAnswered when we answered its request;
	// AddrAskedAt and AddrAnsweredAt when (each may happen again after
	// Config.AddrRefresh).
	AddrAsked      bool
	AddrReceived   bool
	AddrAnswered   bool
	AddrAskedAt    int64
	AddrAnsweredAt int64
	// AddrOnly marks an inbound peer that came when every inbound place
	// was taken and was admitted only to be given addresses, as a seed
	// node answers a newcomer (Config.AddrsWhenFull): it is not one of
	// our inbound peers but counts as a pending one until it goes, and it
	// is disconnected (too many peers) once its AddrListRequest is
	// answered, or if none comes within HandshakeTimeout of the handshake.
	AddrOnly bool
	// Announced is set once the peer announced its own address; only the
	// first such announcement is relayed. AddrRateAt paces the addresses it
	// announces (see the reducer's takeAddrToken).
	Announced  bool
	AddrRateAt int64

	// InFlight counts direct messages per channel handed to the service and
	// not yet reported sent; Received and Sent count messages per channel.
	InFlight []int
	Received []uint64
	Sent     []uint64

	// Streams are the inbound streams we accepted from the peer, in the
	// order they opened (at most Config.MaxInboundStreams).
	Streams []uint64

	// Budgets is the peer's use of each channel's budget. Throttled is set
	// while it is over one: its frames are not read and its broadcasts not
	// taken until the bucket recovers. Throttles counts the times it was
	// throttled over a control or broadcast budget, each within
	// Config.FloodWindow of the last (ThrottledAt); past
	// Config.FloodTolerance each costs ScoreFlood (over a bulk direct
	// channel's budget a peer is only slowed down).
	Budgets     []Bucket
	Throttled   bool
	Throttles   int
	ThrottledAt int64
	// Refused counts messages refused from the peer, per channel: over
	// budget, or while it was not admitted.
	Refused []uint64
	// OutRequests counts our requests to the peer waiting for a
	// response; Serving holds its requests the application is answering,
	// by the peer's request ID. Each is at most Config.MaxRequestsPerPeer.
	OutRequests int
	Serving     map[uint64]InRequest
	// Remote maps each of our channels to the peer's number for it, as
	// its Hello or HelloAck listed them: what we write in the frames we
	// send it. Zero means the peer does not have the channel (control,
	// zero on both sides, is always shared; see Shares).
	Remote []Channel
}

// NewPeer returns p with its per-channel counters and budgets sized for
// cfg's channels.
func NewPeer(cfg *Config, p Peer) *Peer {
	n := len(cfg.Channels)
	if n <= inlineChannels {
		// One allocation: the lists sit right after the peer, so a
		// large simulation, whose time goes to cache misses in the
		// nodes' states, finds them in the lines it fetched for the peer.
		b := &peerBlock{Peer: p}
		b.Received, b.Sent, b.Refused = b.counts[:n:n], b.counts[n:2*n:2*n], b.counts[2*n:3*n:3*n]
		b.InFlight, b.Budgets = b.inFlight[:n:n], b.budgets[:n:n]
		return &b.Peer
	}
	counts := make([]uint64, 3*n)
	p.Received, p.Sent, p.Refused = counts[:n:n], counts[n:2*n:2*n], counts[2*n:]
	p.InFlight = make([]int, n)
	p.Budgets = make([]Bucket, n)
	return &p
}

// inlineChannels is the most channels whose per-peer lists NewPeer
// allocates with the peer itself: the default set's five, for which the
// block fills the allocator's size class that the peer and its lists
// took apart (more room would be memory unused by most nodes).
const inlineChannels = 5

// peerBlock is a peer and room for its per-channel lists, allocated at
// once. Only the Peer is ever referred to (by pointer); the rest is the
// backing of its slices.
type peerBlock struct {
	Peer
	budgets  [inlineChannels]Bucket
	counts   [3 * inlineChannels]uint64
	inFlight [inlineChannels]int
}

// Shares reports whether the peer has our channel ch, as far as its
// handshake told: control always, the others once its Hello or HelloAck
// listed them.
func (p *Peer) Shares(ch Channel) bool {
	return ch == ChannelControl || int(ch) < len(p.Remote) && p.Remote[ch] != 0
}

// Outbound reports whether the peer is counted against OutboundTarget.
func (p *Peer) Outbound() bool { return p.Dir == Outbound && !p.Manual && !p.Service }

// PeerCounts are the numbers the connection limits are decided on.
type PeerCounts struct {
	// Outbound counts automatic outbound peers not yet disconnecting.
	Outbound int
	// OutboundReady counts automatic outbound peers that are ready.
	OutboundReady int
	// Inbound counts inbound peers handshaking or ready (not manual ones:
	// a manual dial that yielded in a simultaneous open; not AddrOnly
	// ones).
	Inbound int
	// InboundReady counts inbound peers that are ready.
	InboundReady int
	// PendingInbound counts inbound peers still in their handshake, and
	// AddrOnly peers until they are disconnecting.
	PendingInbound int
	// Ready counts all ready peers, manual ones included.
	Ready int
	// Disconnecting counts peers waiting for the service to confirm a close.
	Disconnecting int
	// Service counts service peers (see Peer.Service).
	Service int
}

// Counts walks the peers and counts them. It is O(peers); the reducers
// call it where a limit is decided, and Check uses it to audit.
func (s *State) Counts() PeerCounts {
	var c PeerCounts
	// Counting does not depend on the order: no sorting (reducers count
	// on every tick and every admission).
	for _, p := range Unordered(s.Peers) {
		c.add(p)
	}
	return c
}

func (c *PeerCounts) add(p *Peer) {
	if p.Status == StatusDisconnecting {
		c.Disconnecting++
		return
	}
	if p.Status == StatusReady {
		c.Ready++
	}
	switch {
	case p.Service:
		c.Service++
	case p.Outbound():
		c.Outbound++
		if p.Status == StatusReady {
			c.OutboundReady++
		}
	case p.AddrOnly:
		c.PendingInbound++
	case p.Dir == Inbound && !p.Manual:
		c.Inbound++
		if p.Status == StatusReady {
			c.InboundReady++
		} else {
			c.PendingInbound++
		}
	}
}

// OutboundGroups returns the address groups used by automatic outbound
// peers that are not disconnecting.
func (s *State) OutboundGroups() map[string]bool {
	groups := make(map[string]bool)
	for _, id := range SortedKeys(s.Peers) {
		p := s.Peers[id]
		if p.Outbound() && p.Status != StatusDisconnecting && p.Group != "" {
			groups[p.Group] = true
		}
	}
	return groups
}

// ReadyPeers returns the IDs of ready peers in ascending order.
func (s *State) ReadyPeers() []PeerID {
	var ids []PeerID
	for _, id := range SortedKeys(s.Peers) {
		if s.Peers[id].Status == StatusReady {
			ids = append(ids, id)
		}
	}
	return ids
}
