package state

import (
	"fmt"
	"time"
)

// Sessions are Chainweb-style P2P sessions: for each session network the
// application starts (one per chain, say), the node keeps a target number
// of sessions running, each on a stream of an ordinary connection, and
// starts another whenever one ends. Which peer a session runs with, how
// long it may last and what its end means for that peer are decided here,
// by reducers, with the state RNG; the session itself is application code
// that runs outside the state machine.
type Sessions struct {
	// Networks are the session networks in the order they were started;
	// a session names its network by index.
	Networks []SessionNetwork
	// NextID is the ID of the last session started (0: none yet). IDs
	// are ours, for inbound sessions too.
	NextID uint64
	// Running maps a session's ID to it, from its start to its end.
	Running map[uint64]*Session
	// Peers are the peers sessions ran with: their successive failures
	// and last success, which peer choice and pruning read. An entry is
	// kept while its peer is connected or in the address book.
	Peers map[PeerID]*SessionPeer
}

// SessionNetwork is one session network: its settings (from the API call
// that started it) and its counters.
type SessionNetwork struct {
	Name string
	// Target is how many sessions we start and keep running.
	Target int
	// Timeout is the mean session duration: each session's is drawn
	// uniformly within ±10 % of it.
	Timeout time.Duration
	// BufferMessages and BufferBytes bound a session's receive buffer;
	// MaxMessage bounds one message.
	BufferMessages int
	BufferBytes    int
	MaxMessage     int
	// Budget bounds what the peer of each session may send: past it the
	// session fails (over budget), so that a peer cannot push messages
	// into the node — and its log — faster than the application allows.
	Budget Budget
	// Outbound and Inbound count the running sessions we started and those
	// peers started.
	Outbound int
	Inbound  int
	// Counters of sessions: started, ended by outcome (Refused: neutral
	// ends, refused by the peer or cut by our closing its connection),
	// and the peers' sessions we refused (Refusals).
	Started   uint64
	Succeeded uint64
	TimedOut  uint64
	Failed    uint64
	Refused   uint64
	Refusals  uint64
}

// Session is one running session.
type Session struct {
	Network int
	Peer    PeerID
	// Inbound is set when the peer opened it.
	Inbound bool
	// Stream is the service's number of an inbound session's stream.
	Stream  uint64
	Started int64
	// Deadline is when it times out (its drawn timeout after Started);
	// the application then has SessionStopGrace to return before the
	// state machine ends the session without it.
	Deadline int64
	// Stopped is set when the session's context has been ended (timeout,
	// failure or peer gone) and Outcome says why; the session ends when
	// the application's callback returns or the grace runs out.
	Stopped bool
	Outcome SessionOutcome
	// Stopping is set, within one dispatch, between a reducer queueing
	// the session's stop because of a message and the stop: that message
	// is not delivered.
	Stopping bool
	// Closed is set once our end is closed (no more sends); PeerClosed
	// once the peer closed its end.
	Closed     bool
	PeerClosed bool
	// Sent and Received count messages; Bucket is the peer's use of the
	// network's Budget.
	Sent     uint64
	Received uint64
	Bucket   Bucket
}

// SessionPeer is what sessions taught us about a peer.
type SessionPeer struct {
	// Failures is the number of successive failed sessions; a success
	// resets it.
	Failures int
	// LastSuccess is when a session with it last succeeded (or when the
	// entry was made).
	LastSuccess int64
	// LastFailure is when a session with it last failed: it is not chosen
	// again at that same instant (only from the next Tick), so that a
	// peer whose sessions fail at once is not retried in a tight loop.
	LastFailure int64
	// Running counts its running sessions, on every network.
	Running int
	// Unsupported has bit i set when the peer refused session network i
	// as one it does not run, until UnsupportedUntil (Config.BackoffBase
	// or the network's timeout later, whichever is shorter: it may start
	// the network after us) or until it disconnects.
	Unsupported      uint64
	UnsupportedUntil int64
}

// SessionOutcome is how a session ended.
type SessionOutcome uint8

// Session outcomes. A timeout counts as a success (it rotates peers);
// refused and closed count neither way; the others are failures. The
// numbers are part of the wire protocol (a session stream's abort frame
// carries one: PROTOCOL.md §5.7): never renumber, only append.
const (
	SessionRunning SessionOutcome = iota
	SessionSuccess
	SessionTimeout
	SessionFailure
	SessionPanic
	// SessionOverflow: a receive buffer, ours or the peer's, was full.
	SessionOverflow
	// SessionPeerGone: the connection closed or the stream failed.
	SessionPeerGone
	// SessionUnsupported: the peer does not run the session network.
	SessionUnsupported
	// SessionRefused: the peer refused the stream for now (not ready for
	// us yet, or still ending our previous session on the network). It
	// counts neither way for the peer.
	SessionRefused
	// SessionClosed: we closed the connection to the peer (our decision,
	// not its failure). It counts neither way for the peer.
	SessionClosed
	// SessionOverBudget: the peer sent more than the network's Budget.
	SessionOverBudget
)

var sessionOutcomeNames = []string{"running", "success", "timeout", "failure", "panic", "overflow", "peer gone", "unsupported", "refused", "closed", "over budget"}

// MaxSessionOutcome is the highest outcome.
const MaxSessionOutcome = SessionOverBudget

// String names the outcome.
func (o SessionOutcome) String() string { return enumText(sessionOutcomeNames, int(o), "outcome") }

// MarshalText names the outcome.
func (o SessionOutcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses an outcome name.
func (o *SessionOutcome) UnmarshalText(b []byte) error {
	v, err := enumParse(sessionOutcomeNames, b, "session outcome")
	*o = SessionOutcome(v)
	return err
}

// Succeeded reports whether the outcome counts as a success for the peer.
func (o SessionOutcome) Succeeded() bool { return o == SessionSuccess || o == SessionTimeout }

// Neutral reports whether the outcome counts neither as a success nor as
// a failure for the peer.
func (o SessionOutcome) Neutral() bool { return o == SessionRefused || o == SessionClosed }

// MaxSessionNetworks bounds the session networks of one node (a bitmask
// in SessionPeer holds one bit per network).
const MaxSessionNetworks = 64

// SessionNetworkIndex finds a session network by name.
func (s *State) SessionNetworkIndex(name string) (int, bool) {
	for i := range s.Sessions.Networks {
		if s.Sessions.Networks[i].Name == name {
			return i, true
		}
	}
	return 0, false
}

// ValidSessionName reports whether name may name a session network: 1 to
// 64 bytes of letters, digits, '-', '_' and '.', so that it fits in a
// protocol ID.
func ValidSessionName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("session network name %q must be 1 to 64 bytes long", name)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("session network name %q: %q is not a letter, a digit, '-', '_' or '.'", name, c)
		}
	}
	return nil
}

// checkSessions checks the session invariants: the counts per network and
// per peer match the running sessions, outbound ones within the target,
// and no session runs on (unstopped) with a peer that is gone.
// It counts in no order (a count does not depend on it) and reports in
// sorted order, as checkPeers does.
func (s *State) checkSessions() []error {
	ss := &s.Sessions
	var errs []error
	out := make([]int, len(ss.Networks))
	in := make([]int, len(ss.Networks))
	running := map[PeerID]int{}
	bad, orphan := false, false
	for id, r := range Unordered(ss.Running) {
		if r.Network < 0 || r.Network >= len(ss.Networks) || id > ss.NextID {
			bad = true
			continue
		}
		if _, ok := s.Peers[r.Peer]; !ok && !r.Stopped {
			orphan = true
		}
		if r.Inbound {
			in[r.Network]++
		} else {
			out[r.Network]++
		}
		running[r.Peer]++
	}
	if bad {
		for _, id := range SortedKeys(ss.Running) {
			if r := ss.Running[id]; r.Network < 0 || r.Network >= len(ss.Networks) || id > ss.NextID {
				errs = append(errs, violationf("session-unknown", "session %d: network %d, next ID %d", id, r.Network, ss.NextID))
			}
		}
	}
	if orphan {
		for _, id := range SortedKeys(ss.Running) {
			if r := ss.Running[id]; !r.Stopped {
				if _, ok := s.Peers[r.Peer]; !ok {
					errs = append(errs, violationf("session-orphan", "session %d runs on with %s, which is gone", id, r.Peer))
				}
			}
		}
	}
	for i := range ss.Networks {
		n := &ss.Networks[i]
		if n.Outbound != out[i] || n.Inbound != in[i] {
			errs = append(errs, violationf("session-count", "session network %s: counts %d out %d in, running %d out %d in", n.Name, n.Outbound, n.Inbound, out[i], in[i]))
		}
		if n.Outbound > n.Target {
			errs = append(errs, violationf("session-target", "session network %s: %d outbound sessions, target %d", n.Name, n.Outbound, n.Target))
		}
	}
	consistent := AllOf(ss.Peers, func(id PeerID, p *SessionPeer) bool { return p.Running == running[id] }) &&
		AllOf(running, func(id PeerID, _ int) bool { _, ok := ss.Peers[id]; return ok })
	if !consistent {
		for _, id := range SortedKeys(ss.Peers) {
			if ss.Peers[id].Running != running[id] {
				errs = append(errs, violationf("session-peer", "peer %s: %d sessions counted, %d running", id, ss.Peers[id].Running, running[id]))
			}
		}
		for _, id := range SortedKeys(running) {
			if _, ok := ss.Peers[id]; !ok {
				errs = append(errs, violationf("session-peer", "peer %s has sessions and no entry", id))
			}
		}
	}
	return errs
}
