package node

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventPeerReady: a peer completed its handshake (the derived action
	// PeerReady was applied). Every EventPeerReady of a peer is followed,
	// sooner or later, by exactly one EventPeerGone for it — unless the
	// node closes first: Close waits only briefly for its peers' closes.
	EventPeerReady EventKind = iota + 1
	// EventPeerGone: a peer that had been ready left the peer table, when
	// the service confirmed the close (the input Disconnected) or when it
	// never did within state.Config.DisconnectTimeout (CloseTimedOut).
	// Peers that never became ready (a failed dial, a refused handshake)
	// leave without an event.
	EventPeerGone
	// EventMisbehaved: an offence was scored against a peer (the derived
	// action Misbehaved), ready or still in its handshake.
	EventMisbehaved
	// EventBanned: a peer ID or an IP address was banned, through the API
	// or the configuration (the input Ban) or because a peer's score
	// reached state.Config.BanThreshold (then it follows the
	// EventMisbehaved that did it, with the same ActionID). Bans restored
	// from the peer store at start are not reported, nor are bans that
	// expire or are lifted.
	EventBanned
	// EventLost is a marker, not a peer event: Lost events were dropped
	// for this subscriber, because its buffer was full, just before the
	// event that follows the marker.
	EventLost
)

var eventKindNames = [...]string{"", "peer ready", "peer gone", "misbehaved", "banned", "events lost"}

// String names the kind.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && k != 0 {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event kind %d", uint8(k))
}

// Event is something that happened to a peer, as the state machine
// decided it. Events are derived from the actions the node dispatches,
// in the order it dispatches them, so each one is exactly what the action
// log records under ActionID: replaying the log derives the same events.
// Which fields are set depends on Kind.
type Event struct {
	Kind EventKind
	// ActionID is the ID of the action the event comes from, as the
	// action log numbers it, and Time that action's time. An EventLost
	// marker carries those of the event that follows it (none for a last
	// marker sent as the node closes).
	ActionID uint64
	Time     time.Time
	// Peer is the peer concerned (EventPeerReady, EventPeerGone,
	// EventMisbehaved; EventBanned when a peer's misbehaviour caused the
	// ban — a ban through the API has only a Target).
	Peer state.PeerID
	// Direction and Addr describe the peer's connection (EventPeerReady,
	// EventPeerGone).
	Direction state.Direction
	Addr      state.Addr
	// Software is what the peer said it runs (EventPeerReady).
	Software string
	// Reason is why the connection ended on our side and RemoteReason
	// what the peer told us before it closed, or state.ReasonNone if it
	// told us nothing (EventPeerGone). A peer that closed without a word
	// has Reason state.ReasonRemoteClosed, as the node's counters have it.
	Reason       state.Reason
	RemoteReason state.Reason
	// Error is the service's error on the close, if any (EventPeerGone).
	Error string
	// Offence is the offence scored, and Score the peer's score after it
	// (EventMisbehaved).
	Offence state.Offence
	Score   int
	// Detail is the offence's detail (EventMisbehaved) or the ban's
	// reason (EventBanned).
	Detail string
	// Target is the peer ID or IP address banned, in the form the ban
	// table keys it; Until is when the ban ends; Manual is set for a ban
	// through the API or the configuration, clear for one earned by
	// misbehaviour (EventBanned).
	Target string
	Until  time.Time
	Manual bool
	// Lost is how many events were dropped just before this marker
	// (EventLost).
	Lost uint64
}

// String describes the event on one line.
func (e Event) String() string {
	switch e.Kind {
	case EventPeerReady:
		return fmt.Sprintf("#%d peer ready %s %s %s %q", e.ActionID, e.Peer.Short(), e.Direction, e.Addr, e.Software)
	case EventPeerGone:
		s := fmt.Sprintf("#%d peer gone %s %s reason=%s", e.ActionID, e.Peer.Short(), e.Direction, e.Reason)
		if e.RemoteReason != state.ReasonNone {
			s += " their_reason=" + e.RemoteReason.String()
		}
		if e.Error != "" {
			s += fmt.Sprintf(" err=%q", e.Error)
		}
		return s
	case EventMisbehaved:
		return fmt.Sprintf("#%d misbehaved %s %s score=%d %q", e.ActionID, e.Peer.Short(), e.Offence, e.Score, e.Detail)
	case EventBanned:
		return fmt.Sprintf("#%d banned %s until %s manual=%v %q", e.ActionID, e.Target, e.Until.UTC().Format(time.RFC3339), e.Manual, e.Detail)
	case EventLost:
		return fmt.Sprintf("#%d %d events lost", e.ActionID, e.Lost)
	}
	return fmt.Sprintf("#%d %s", e.ActionID, e.Kind)
}

// DefaultEventBuffer is the buffer of an event subscription that asks for
// none.
const DefaultEventBuffer = 1024

// EventSubscription delivers a node's peer events to one reader, in order.
//
// Events wait in a buffer of a fixed size until the reader takes them.
// The node never waits for a reader: when the buffer is full, the event is
// dropped for this subscriber only and counted (Dropped), and the next
// event that fits is preceded by an EventLost marker saying how many were
// lost there. Other subscribers, the node and its log are not affected.
type EventSubscription struct {
	hub *eventHub
	c   chan Event
	// lost counts the events dropped since the last one delivered; it and
	// err are guarded by hub.mu.
	lost    uint64
	err     error
	ended   bool
	dropped atomic.Uint64
}

// SubscribeEvents delivers the node's peer events from now on, with room
// for buffer events waiting to be read (DefaultEventBuffer if buffer ≤ 0).
// A subscription made before Start sees every event from the first
// action. To know the peers already ready when subscribing, call Peers
// after SubscribeEvents: an EventPeerGone may then name a peer Peers
// already listed, or (if it left in between) one it did not.
func (n *Node) SubscribeEvents(buffer int) *EventSubscription {
	if buffer <= 0 {
		buffer = DefaultEventBuffer
	}
	s := &EventSubscription{hub: &n.peerEvents, c: make(chan Event, buffer)}
	n.peerEvents.add(s)
	return s
}

// C is the stream of events. It is closed when the subscription ends
// (its Close, or the Close of the started node); events already buffered
// can still be read.
func (s *EventSubscription) C() <-chan Event { return s.c }

// Dropped is how many events this subscriber has lost so far because its
// buffer was full.
func (s *EventSubscription) Dropped() uint64 { return s.dropped.Load() }

// Err is why the subscription ended: nil while it runs or after Close,
// ErrClosed once the node closed.
func (s *EventSubscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes C. It may be called more than
// once, and from any goroutine.
func (s *EventSubscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, x := range h.subs {
		if x == s {
			h.subs = append(h.subs[:i:i], h.subs[i+1:]...)
			break
		}
	}
	s.end(nil)
}

// end closes C; the caller holds hub.mu.
func (s *EventSubscription) end(err error) {
	if s.ended {
		return
	}
	s.ended, s.err = true, err
	close(s.c)
}

// offer hands ev to the reader without ever waiting: after a gap, a
// marker goes first, and if the marker or the event does not fit, the
// event is counted as lost. The caller holds hub.mu.
func (s *EventSubscription) offer(ev Event) {
	if s.lost > 0 {
		select {
		case s.c <- Event{Kind: EventLost, ActionID: ev.ActionID, Time: ev.Time, Lost: s.lost}:
			s.lost = 0
		default:
			s.lost++
			s.dropped.Add(1)
			return
		}
	}
	select {
	case s.c <- ev:
	default:
		s.lost++
		s.dropped.Add(1)
	}
}

// eventHub holds a node's event subscribers. The node's goroutine
// publishes; subscribers come and go from any goroutine.
type eventHub struct {
	mu     sync.Mutex
	subs   []*EventSubscription
	closed bool
}

func (h *eventHub) add(s *EventSubscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.end(ErrClosed)
		return
	}
	h.subs = append(h.subs, s)
}

// publish offers ev to every subscriber; it never blocks on a reader.
func (h *eventHub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.subs {
		s.offer(ev)
	}
}

// close ends every subscription with ErrClosed: the node has stopped and
// will publish nothing more. A subscriber that lost events at the end
// gets a last EventLost marker if there is room for it.
func (h *eventHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, s := range h.subs {
		if s.lost > 0 {
			select {
			case s.c <- Event{Kind: EventLost, Lost: s.lost}:
				s.lost = 0
			default:
			}
		}
		s.end(ErrClosed)
	}
	h.subs = nil
}
