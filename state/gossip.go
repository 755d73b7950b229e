package state

// Gossip is the state of broadcasts received and not yet decided: those an
// application validator is looking at. Their bytes count against
// Config.MaxPendingBytes, so however many peers send, the node holds a
// bounded amount in validation.
type Gossip struct {
	// Pending maps the service's message number to the message.
	Pending map[uint64]PendingGossip
	// PendingBytes is the sum of their sizes.
	PendingBytes int
	// Last is the reducers' verdict on the last broadcast received, for
	// the effect that answers GossipSub (one rule, applied once).
	Last LastVerdict
	// Authors are the budgets of the peers whose broadcasts others relay
	// to us, by the author's ID (at most Config.MaxGossipAuthors; the
	// least recently heard is forgotten first). An author's own direct
	// connection, if any, is charged in its Peer entry instead.
	Authors map[PeerID]*Author
	// AuthorsThrottled is set when an author is throttled and cleared by
	// the tick that finds none still is, so that a tick walks the authors
	// only when one may have recovered.
	AuthorsThrottled bool
}

// Author is what one origin of broadcasts may still send us, whoever
// relays it: a flood is stopped at the first honest node, and an honest
// relay is not blamed for what others flood through it.
type Author struct {
	Budgets   []Bucket
	Throttled bool
	LastSeen  int64
}

// NewAuthor returns a budget entry, last seen at now, with a budget for
// each of cfg's channels. With few channels the budgets are allocated
// with the entry (see NewPeer): the gossip rule reads both for every
// broadcast.
func NewAuthor(cfg *Config, now int64) *Author {
	n := len(cfg.Channels)
	if n <= inlineChannels {
		b := &authorBlock{Author: Author{LastSeen: now}}
		b.Budgets = b.budgets[:n:n]
		return &b.Author
	}
	return &Author{LastSeen: now, Budgets: make([]Bucket, n)}
}

// authorBlock is an author's entry and the backing of its budgets.
type authorBlock struct {
	Author
	budgets [inlineChannels]Bucket
}

// LastVerdict is the verdict on one broadcast, by its number.
type LastVerdict struct {
	Msg     uint64
	Verdict Verdict
}

// PendingGossip is a broadcast waiting for the application's verdict.
type PendingGossip struct {
	Peer    PeerID
	Channel Channel
	Size    int
}

// Verdict is what becomes of a received broadcast: accepted (delivered and
// relayed), ignored (neither, no blame), or rejected (neither, and its
// sender is scored). The values are GossipSub's.
type Verdict uint8

// Verdicts.
const (
	VerdictAccept Verdict = iota
	VerdictReject
	VerdictIgnore
	// VerdictValidate: the application validator decides (a reducer's
	// decision only; never sent to the service).
	VerdictValidate
	numVerdicts
)

var verdictNames = []string{"accept", "reject", "ignore", "validate"}

// String names the value for logs and traces.
func (v Verdict) String() string { return enumText(verdictNames, int(v), "verdict") }

// MarshalText names the verdict.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses a verdict name.
func (v *Verdict) UnmarshalText(b []byte) error {
	n, err := enumParse(verdictNames, b, "verdict")
	*v = Verdict(n)
	return err
}

// Valid reports whether v is a verdict an application may give.
func (v Verdict) Valid() bool { return v <= VerdictIgnore }

// GossipAdmission is the first part of the rule for a received broadcast:
// reject what is too large for its channel, ignore what comes from a peer
// not admitted (unknown, closing, banned or throttled) or from a throttled
// author, and let the reducer weigh the rest against the budgets.
func (s *State) GossipAdmission(peer, author PeerID, ch Channel, size int) Verdict {
	if !s.Config.HasChannel(ch) || !s.Config.Channels[ch].IsBroadcast() || size > s.Config.Channels[ch].MaxSize {
		return VerdictReject
	}
	return s.GossipAdmissionOf(peer, s.Peers[peer], s.Gossip.Authors[author], ch, size)
}

// GossipAdmissionOf is GossipAdmission for a peer entry and an author
// entry already looked up (either may be nil: unknown).
func (s *State) GossipAdmissionOf(peer PeerID, p *Peer, au *Author, ch Channel, size int) Verdict {
	if !s.Config.HasChannel(ch) || !s.Config.Channels[ch].IsBroadcast() || size > s.Config.Channels[ch].MaxSize {
		return VerdictReject
	}
	if p == nil || !p.Status.Connected() || p.Throttled || s.Banned(peer, p.Addr) {
		return VerdictIgnore
	}
	if au != nil && au.Throttled {
		return VerdictIgnore
	}
	return VerdictAccept
}

// GossipDecision is the verdict the reducers gave broadcast msg, for its
// effect; a message they did not see is ignored.
func (s *State) GossipDecision(msg uint64) Verdict {
	if s.Gossip.Last.Msg == msg {
		return s.Gossip.Last.Verdict
	}
	return VerdictIgnore
}
