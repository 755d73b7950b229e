package reducer

import (
	"fmt"
	"slices"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// Channels: messages in and out. Control messages are decoded here and
// routed to the area that handles them; direct messages are counted and
// handed to the application by the effect (broadcasts: see gossip.go).
// Every message is charged to its sender's budget on its channel; a peer
// over budget is throttled (see take: on control and broadcast channels
// what it sent meanwhile is refused, on the others only slowed). Outgoing
// messages are bounded by each channel's QueueLimit: a full queue refuses
// with ErrQueueFull; only a channel's MaxAge drops (and counts) what
// waited too long.

func enabledMessageReceived(s *state.State, a action.MessageReceived) error {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return ErrUnknownPeer
	}
	if !s.Config.HasChannel(a.Channel) {
		return ErrUnknownChannel
	}
	if k := s.Config.Channels[a.Channel].Kind; k != state.Direct {
		return fmt.Errorf("%w: %s is a %s channel", ErrWrongChannel, s.Config.ChannelName(a.Channel), k)
	}
	if a.Len() > s.Config.Channels[a.Channel].MaxSize {
		return ErrTooLarge
	}
	if a.Channel == state.ChannelControl {
		if !p.Status.Connected() {
			return fmt.Errorf("%w: %s", ErrWrongStatus, p.Status)
		}
		return nil
	}
	if p.Status != state.StatusReady {
		return ErrNotReady
	}
	return nil
}

func reduceMessageReceived(s *state.State, a action.MessageReceived, q action.Queue) {
	p := s.Peers[a.Peer]
	if !unlisted(s, p, a.Channel, q) || !take(s, p, a.Channel, a.Len(), q) {
		return
	}
	p.LastRecv = s.Now
	p.Received[a.Channel]++
	s.Channels[a.Channel].Received++
	if a.Channel == state.ChannelControl {
		routeControl(s, p, a.Data, q)
	}
}

// take charges a message of size bytes on ch to its sender's budget.
//
// On the control and broadcast channels, a throttled sender's message is
// refused, and one that does not fit throttles its sender and is refused
// too: honest peers stay far inside those budgets, and a broadcast
// refused here reaches the node by another relay. Refused messages are
// counted, and neither delivered, answered nor relayed.
//
// The other direct channels carry bulk transfers (blocks for a syncing
// node) that an honest peer sends as fast as the link allows, and losing
// a message there breaks a request and its response. Over its budget, such
// a message is still taken (its sender goes into debt) and the sender is
// throttled: the service stops reading its direct streams, so the
// transport's flow control slows it to the budget's rate. The few frames
// already read when the throttle lands are taken too; they are bounded
// by the number of streams times MaxSize.
func take(s *state.State, p *state.Peer, ch state.Channel, size int, q action.Queue) bool {
	budget := s.Config.Channels[ch].Budget
	if s.Config.Backpressured(ch) {
		if !p.Budgets[ch].Charge(s.Now, budget, size) {
			p.Budgets[ch].Take(s.Now, budget, 1, size)
			throttle(s, p, ch, q)
		}
		return true
	}
	if (ch == state.ChannelControl || !p.Throttled) && p.Budgets[ch].Charge(s.Now, budget, size) {
		return true
	}
	throttle(s, p, ch, q)
	p.Refused[ch]++
	s.Channels[ch].Refused++
	return false
}

// throttle stops taking a peer's traffic until its budgets recover.
func throttle(s *state.State, p *state.Peer, ch state.Channel, q action.Queue) {
	if !p.Throttled {
		p.Throttled = true
		q.Push(action.Throttle{Peer: p.ID, Channel: ch})
	}
}

// enabledThrottled lets Throttle and Unthrottle through for a known peer
// that take (or a tick) has just marked as throttled.
func enabledThrottled(s *state.State, id state.PeerID) error {
	p, ok := s.Peers[id]
	if !ok {
		return ErrUnknownPeer
	}
	if !p.Throttled {
		return fmt.Errorf("%w: not throttled", ErrWrongStatus)
	}
	return nil
}

// reduceThrottle counts a peer's throttling: a few are a busy peer, more
// in a row (each within FloodWindow of the last) are a flood, and each
// past FloodTolerance costs ScoreFlood. A throttle on a backpressured
// channel is a fast honest sender slowed down, and costs nothing.
func reduceThrottle(s *state.State, a action.Throttle, q action.Queue) {
	p := s.Peers[a.Peer]
	s.Counters.Throttles++
	if s.Config.Backpressured(a.Channel) {
		return
	}
	if s.Now-p.ThrottledAt > int64(s.Config.FloodWindow) {
		p.Throttles = 0
	}
	p.Throttles++
	p.ThrottledAt = s.Now
	if p.Throttles > s.Config.FloodTolerance && p.Status.Connected() {
		q.Push(action.Misbehaved{Peer: p.ID, Offence: state.OffenceFlood,
			Detail: fmt.Sprintf("over its %s budget %d times", s.Config.ChannelName(a.Channel), p.Throttles)})
	}
}

func reduceUnthrottle(s *state.State, a action.Unthrottle) {
	s.Peers[a.Peer].Throttled = false
}

// tickThrottles lets a throttled peer be heard again once every budget it
// has is back within its burst.
func tickThrottles(s *state.State, q action.Queue) {
	// Few peers are ever throttled: find them without sorting them all,
	// then queue their actions in ID order.
	var throttled []state.PeerID
	for id, p := range state.Unordered(s.Peers) {
		if p.Throttled && recovered(s, p.Budgets) {
			throttled = append(throttled, id)
		}
	}
	slices.Sort(throttled)
	for _, id := range throttled {
		q.Push(action.Unthrottle{Peer: id})
	}
	// An author that has recovered is let go. Each step touches only its
	// own entry: any order will do.
	if !s.Gossip.AuthorsThrottled {
		return
	}
	still := false
	for _, au := range state.Unordered(s.Gossip.Authors) {
		if au.Throttled {
			au.Throttled = !recovered(s, au.Budgets)
			still = still || au.Throttled
		}
	}
	s.Gossip.AuthorsThrottled = still
}

// idle says whether no bucket owes anything: each is as a new one.
func idle(now int64, budgets []state.Bucket) bool {
	for _, b := range budgets {
		if b.MsgsAt > now || b.BytesAt > now {
			return false
		}
	}
	return true
}

// recovered says whether every bucket is back within its burst.
func recovered(s *state.State, budgets []state.Bucket) bool {
	for ch := range budgets {
		if !budgets[ch].Recovered(s.Now, s.Config.Channels[ch].Budget) {
			return false
		}
	}
	return true
}

// routeControl decodes a control message and queues the action of the area
// that handles it. A message that does not decode is scored as malformed;
// one that breaks the protocol in the peer's current state (see Violation)
// is scored as well as dropped.
func routeControl(s *state.State, p *state.Peer, data []byte, q action.Queue) {
	m, err := message.Decode(data)
	if err != nil {
		q.Push(action.Misbehaved{Peer: p.ID, Offence: state.OffenceMalformed, Detail: err.Error()})
		return
	}
	if !canonicalIDs(s, m) {
		q.Push(action.Misbehaved{Peer: p.ID, Offence: state.OffenceMalformed, Detail: "a peer ID not in its canonical form"})
		return
	}
	var next action.Action
	switch m := m.(type) {
	case message.Hello:
		next = action.HelloReceived{Peer: p.ID, Hello: m}
	case message.HelloAck:
		next = action.HelloAckReceived{Peer: p.ID, Ack: m}
	case message.PingRequest:
		next = action.PingRequestReceived{Peer: p.ID, Nonce: m.Nonce}
	case message.PingResponse:
		next = action.PingResponseReceived{Peer: p.ID, Nonce: m.Nonce}
	case message.AddrListRequest:
		next = action.AddrListRequestReceived{Peer: p.ID}
	case message.AddrListResponse:
		next = action.AddrListResponseReceived{Peer: p.ID, Peers: m.Peers}
	case message.AddrAnnounce:
		next = action.AddrAnnounceReceived{Peer: p.ID, Peers: m.Peers}
	case message.Disconnect:
		next = action.DisconnectReceived{Peer: p.ID, Reason: m.Reason}
	}
	if v, ok := Enabled(s, next).(*Violation); ok {
		q.Push(action.Misbehaved{Peer: p.ID, Offence: v.Offence, Detail: v.What})
	}
	q.Push(next)
}

// checkOutgoing is the size rule shared by broadcasts and direct sends.
func checkOutgoing(s *state.State, ch state.Channel, size int) error {
	if !s.Config.HasChannel(ch) || ch == state.ChannelControl {
		return ErrUnknownChannel
	}
	if limit := s.Config.Channels[ch].MaxSize; size > limit {
		return fmt.Errorf("%w: %d bytes on %s, limit %d", ErrTooLarge, size, s.Config.ChannelName(ch), limit)
	}
	return nil
}

func enabledBroadcastMessage(s *state.State, a action.BroadcastMessage) error {
	if err := checkOutgoing(s, a.Channel, a.Len()); err != nil {
		return err
	}
	if !s.Config.Channels[a.Channel].IsBroadcast() {
		return ErrNotBroadcast
	}
	if s.Channels[a.Channel].InFlight >= s.Config.Channels[a.Channel].QueueLimit {
		return fmt.Errorf("%w: %s has %d broadcasts queued", ErrQueueFull, s.Config.ChannelName(a.Channel), s.Channels[a.Channel].InFlight)
	}
	return nil
}

func reduceBroadcastMessage(s *state.State, a action.BroadcastMessage) {
	c := &s.Channels[a.Channel]
	c.InFlight++
	c.Published++
}

func enabledPublished(s *state.State, a action.Published) error {
	if !s.Config.HasChannel(a.Channel) {
		return ErrUnknownChannel
	}
	if a.Count == 0 || int(a.Count) > s.Channels[a.Channel].InFlight {
		return fmt.Errorf("%w: %d published, %d in flight", ErrNotOutstanding, a.Count, s.Channels[a.Channel].InFlight)
	}
	return nil
}

func reducePublished(s *state.State, a action.Published) {
	s.Channels[a.Channel].InFlight -= int(a.Count)
}

func enabledSendMessage(s *state.State, a action.SendMessage) error {
	if err := checkOutgoing(s, a.Channel, a.Len()); err != nil {
		return err
	}
	if err := readyPeer(s, a.Peer); err != nil {
		return err
	}
	if k := s.Config.Channels[a.Channel].Kind; k != state.Direct {
		return fmt.Errorf("%w: %s is a %s channel", ErrWrongChannel, s.Config.ChannelName(a.Channel), k)
	}
	p := s.Peers[a.Peer]
	if !p.Shares(a.Channel) {
		return fmt.Errorf("%w: %s did not list %s in its handshake", ErrNotShared, a.Peer, s.Config.ChannelName(a.Channel))
	}
	if p.InFlight[a.Channel] >= s.Config.Channels[a.Channel].QueueLimit {
		return fmt.Errorf("%w: %d messages queued for %s on %s", ErrQueueFull, p.InFlight[a.Channel], a.Peer, s.Config.ChannelName(a.Channel))
	}
	return nil
}

func reduceSendMessage(s *state.State, a action.SendMessage) {
	p := s.Peers[a.Peer]
	p.InFlight[a.Channel]++
	p.Sent[a.Channel]++
	s.Channels[a.Channel].Sent++
}

func enabledSent(s *state.State, a action.Sent) error {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return ErrUnknownPeer
	}
	if !s.Config.HasChannel(a.Channel) {
		return ErrUnknownChannel
	}
	if a.Count == 0 || int(a.Count) > p.InFlight[a.Channel] {
		return fmt.Errorf("%w: %d sent, %d in flight", ErrNotOutstanding, a.Count, p.InFlight[a.Channel])
	}
	return nil
}

func reduceSent(s *state.State, a action.Sent) {
	s.Peers[a.Peer].InFlight[a.Channel] -= int(a.Count)
}

func enabledSendFailed(s *state.State, a action.SendFailed) error {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return ErrUnknownPeer
	}
	if !s.Config.HasChannel(a.Channel) {
		return ErrUnknownChannel
	}
	if a.Count == 0 || (a.Channel != state.ChannelControl && int(a.Count) > p.InFlight[a.Channel]) {
		return fmt.Errorf("%w: %d failed, %d in flight", ErrNotOutstanding, a.Count, p.InFlight[a.Channel])
	}
	return nil
}

// reduceSendFailed frees the failed messages' places and counts them. A
// failure is not the peer's fault as such: a peer that stops reading is
// caught by WriteStalled, a closed connection by Disconnected.
func reduceSendFailed(s *state.State, a action.SendFailed) {
	if a.Channel != state.ChannelControl {
		s.Peers[a.Peer].InFlight[a.Channel] -= int(a.Count)
	}
	s.Counters.SendFailures[a.Channel] += uint64(a.Count)
}

func enabledExpired(s *state.State, a action.Expired) error {
	if a.Peer == "" {
		return enabledPublished(s, action.Published{Channel: a.Channel, Count: a.Count})
	}
	return enabledSent(s, action.Sent{Peer: a.Peer, Channel: a.Channel, Count: a.Count})
}

// reduceExpired frees the places of messages dropped for their channel's
// MaxAge, and counts them.
func reduceExpired(s *state.State, a action.Expired) {
	if a.Peer == "" {
		s.Channels[a.Channel].InFlight -= int(a.Count)
	} else {
		s.Peers[a.Peer].InFlight[a.Channel] -= int(a.Count)
	}
	s.Channels[a.Channel].Expired += uint64(a.Count)
}

func enabledPublishFailed(s *state.State, a action.PublishFailed) error {
	return enabledPublished(s, action.Published{Channel: a.Channel, Count: a.Count})
}

func reducePublishFailed(s *state.State, a action.PublishFailed) {
	s.Channels[a.Channel].InFlight -= int(a.Count)
	s.Counters.PublishFailures[a.Channel] += uint64(a.Count)
}

// canonicalIDs reports whether every peer ID a control message carries is
// in canonical form. Any other form is malformed: it would let one peer
// appear under two names.
func canonicalIDs(s *state.State, m message.Message) bool {
	var peers []state.PeerAddr
	switch m := m.(type) {
	case message.AddrListResponse:
		peers = m.Peers
	case message.AddrAnnounce:
		peers = m.Peers
	}
	for _, pa := range peers {
		if !message.CanonicalPeerID(s.Config.IDs, string(pa.ID)) {
			return false
		}
	}
	return true
}
