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
//
// Messages wait in the subscription's queue until the application reads
// them, bounded by Config.SubscriptionBuffer messages and
// Config.SubscriptionBytes bytes: a subscriber that falls further behind
// is ended with ErrSlowSubscriber — messages are never dropped silently,
// and a slow reader cannot make the node hold unbounded memory.
type Subscription struct {
	n  *Node
	ch state.Channel
	c  chan Message

	mu    sync.Mutex
	cond  *sync.Cond
	queue []Message
	bytes int
	err   error
	done  bool          // nothing more will be queued
	stop  chan struct{} // closed by Close: the reader left
}

// Subscribe delivers the messages received on ch.
func (n *Node) Subscribe(ch state.Channel) *Subscription {
	s := &Subscription{n: n, ch: ch, c: make(chan Message, 64), stop: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.pump()
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	if n.subsClosed {
		s.end(ErrClosed)
		return s
	}
	if n.rules.HasChannel(ch) {
		n.subs[ch] = append(n.subs[ch], s)
	}
	return s
}

// C is the stream of messages; it is closed when the subscription ends
// (see Err), after the messages queued before the end.
func (s *Subscription) C() <-chan Message { return s.c }

// Err is why the subscription ended: nil while it runs or after Close,
// ErrSlowSubscriber, or ErrClosed when the node closed.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription; messages still queued are dropped.
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
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
}

func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done, s.err = true, err
	s.cond.Signal()
}

// offer queues a message, or ends the subscription if it would go past
// its bounds. It never blocks.
func (s *Subscription) offer(m Message, maxMsgs, maxBytes int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	if len(s.queue) >= maxMsgs || s.bytes+len(m.Data) > maxBytes {
		s.done, s.err = true, ErrSlowSubscriber
		s.cond.Signal()
		return false
	}
	s.queue = append(s.queue, m)
	s.bytes += len(m.Data)
	s.cond.Signal()
	return true
}

// pump hands queued messages to the reader, then closes C.
func (s *Subscription) pump() {
	defer close(s.c)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.done {
			s.cond.Wait()
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		m := s.queue[0]
		s.queue[0] = Message{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.c <- m:
			s.mu.Lock()
			s.bytes -= len(m.Data)
			s.mu.Unlock()
		case <-s.stop:
			return
		}
	}
}

// deliver is the service's Deliver: it runs in the node's goroutine and
// never blocks it.
func (n *Node) deliver(from state.PeerID, ch state.Channel, data []byte) {
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	list := n.subs[ch]
	kept := list[:0]
	for _, s := range list {
		if s.offer(Message{From: from, Channel: ch, Data: data}, n.cfg.SubscriptionBuffer, n.cfg.SubscriptionBytes) {
			kept = append(kept, s)
			continue
		}
		n.log.Warn("closing a subscription that fell behind", "channel", ch,
			"buffer", n.cfg.SubscriptionBuffer, "bytes", n.cfg.SubscriptionBytes)
	}
	n.subs[ch] = kept
}
