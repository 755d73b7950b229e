package node

import (
	"sync"

	"github.com/p2pcore/p2pcore/state"
)

// Message is a message handed to the application.
type Message struct {
	// From is the peer that sent it (for a broadcast, the peer that
	// relayed it to us).
	From    state.PeerID
	Channel state.Channel
	// Data is shared by every subscriber of the channel: read it, do not
	// modify it.
	Data []byte
}

// Subscription delivers the messages of one channel as they arrive.
type Subscription struct {
	n  *Node
	ch state.Channel
	c  chan Message

	mu   sync.Mutex
	err  error
	done bool
}

// Subscribe delivers the messages received on ch. The channel has room for
// Config.SubscriptionBuffer messages; a subscriber that falls further
// behind is closed with ErrSlowSubscriber — messages are never dropped
// silently.
func (n *Node) Subscribe(ch state.Channel) *Subscription {
	s := &Subscription{n: n, ch: ch, c: make(chan Message, n.cfg.SubscriptionBuffer)}
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	if n.subsClosed {
		s.end(ErrClosed)
		return s
	}
	if ch.Valid() {
		n.subs[ch] = append(n.subs[ch], s)
	}
	return s
}

// C is the stream of messages; it is closed when the subscription ends
// (see Err).
func (s *Subscription) C() <-chan Message { return s.c }

// Err is why the subscription ended: nil while it runs or after Close,
// ErrSlowSubscriber, or ErrClosed when the node closed.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.n.subsMu.Lock()
	list := s.n.subs[s.ch]
	for i, x := range list {
		if x == s {
			s.n.subs[s.ch] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	s.n.subsMu.Unlock()
	s.end(nil)
}

func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done, s.err = true, err
	close(s.c)
}

// deliver is the service's Deliver: it runs in the node's goroutine and
// never blocks it.
func (n *Node) deliver(from state.PeerID, ch state.Channel, data []byte) {
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	list := n.subs[ch]
	kept := list[:0]
	for _, s := range list {
		select {
		case s.c <- Message{From: from, Channel: ch, Data: data}:
			kept = append(kept, s)
		default:
			n.log.Warn("closing a subscription that fell behind", "channel", ch, "buffer", cap(s.c))
			s.end(ErrSlowSubscriber)
		}
	}
	n.subs[ch] = kept
}
