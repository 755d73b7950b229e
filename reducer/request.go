package reducer

import (
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Request/response. Our requests are numbered by State.Requests and wait
// in it for their response, at most MaxRequestsPerPeer per peer and
// RequestTimeout each; every way one ends — response, refusal, timeout,
// failed write, peer gone — is a RequestDone. A peer's requests wait in
// its Serving table for the application's answer, at most
// MaxRequestsPerPeer of them: past that it is answered "busy" at once. A
// response that answers nothing we asked (late, duplicate or unsolicited)
// costs its sender ScoreUnsolicited.

// requestChannel checks that ch is a request channel the peer has.
func requestChannel(s *state.State, p *state.Peer, ch state.Channel) error {
	if !s.Config.HasChannel(ch) || ch == state.ChannelControl {
		return ErrUnknownChannel
	}
	if s.Config.Channels[ch].Kind != state.Request {
		return fmt.Errorf("%w: %s", ErrNotRequest, s.Config.ChannelName(ch))
	}
	if !p.Shares(ch) {
		return fmt.Errorf("%w: %s did not list %s in its handshake", ErrNotShared, p.ID, s.Config.ChannelName(ch))
	}
	return nil
}

func enabledSendRequest(s *state.State, a action.SendRequest) error {
	if err := checkOutgoing(s, a.Channel, a.Len()); err != nil {
		return err
	}
	if err := readyPeer(s, a.Peer); err != nil {
		return err
	}
	p := s.Peers[a.Peer]
	if err := requestChannel(s, p, a.Channel); err != nil {
		return err
	}
	if p.OutRequests >= s.Config.MaxRequestsPerPeer {
		return fmt.Errorf("%w: %d requests to %s wait for their responses", ErrBusy, p.OutRequests, a.Peer)
	}
	return nil
}

// reduceSendRequest numbers the request and starts its clock.
func reduceSendRequest(s *state.State, a action.SendRequest) {
	r := &s.Requests
	r.NextID++
	r.Out[r.NextID] = &state.OutRequest{Peer: a.Peer, Channel: a.Channel, Deadline: s.Now + int64(s.Config.RequestTimeout)}
	p := s.Peers[a.Peer]
	p.OutRequests++
	p.Sent[a.Channel]++
	s.Channels[a.Channel].Sent++
}

func enabledRequestReceived(s *state.State, a action.RequestReceived) error {
	return enabledIncoming(s, a.Peer, a.Channel, a.Len())
}

// enabledIncoming is what a request or a response must satisfy to be
// looked at: a ready peer, one of our request channels, within its size.
func enabledIncoming(s *state.State, id state.PeerID, ch state.Channel, size int) error {
	if err := readyPeer(s, id); err != nil {
		return err
	}
	if !s.Config.HasChannel(ch) || s.Config.Channels[ch].Kind != state.Request {
		return ErrWrongChannel
	}
	if size > s.Config.Channels[ch].MaxSize {
		return ErrTooLarge
	}
	return nil
}

// reduceRequestReceived opens a peer's request for the application, or
// refuses it: past MaxRequestsPerPeer open ones it is answered busy; a
// second request under an ID already open breaks the protocol. (Over
// budget it is still taken, and the peer slowed: request channels are
// backpressured.) The application has half of RequestTimeout to answer,
// so that an answer near that deadline still reaches the peer before
// its own, and is not scored as late.
func reduceRequestReceived(s *state.State, a action.RequestReceived, q action.Queue) {
	p := s.Peers[a.Peer]
	if !unlisted(s, p, a.Channel, q) || !take(s, p, a.Channel, a.Len(), q) {
		return
	}
	p.Received[a.Channel]++
	s.Channels[a.Channel].Received++
	p.LastRecv = s.Now
	if _, dup := p.Serving[a.ID]; dup {
		q.Push(action.Misbehaved{Peer: p.ID, Offence: state.OffenceViolation,
			Detail: fmt.Sprintf("request %d while its request %d is still open", a.ID, a.ID)})
		return
	}
	if len(p.Serving) >= s.Config.MaxRequestsPerPeer {
		q.Push(action.RequestRefused{Peer: p.ID, Channel: a.Channel, ID: a.ID, Status: state.RequestBusy})
		return
	}
	if p.Serving == nil {
		p.Serving = make(map[uint64]state.InRequest)
	}
	p.Serving[a.ID] = state.InRequest{Channel: a.Channel, Deadline: s.Now + int64(s.Config.RequestTimeout)/2}
	q.Push(action.ServeRequest{Peer: p.ID, Channel: a.Channel, ID: a.ID, Data: a.Data, Size: a.Size, Sum: a.Sum})
}

func enabledServeRequest(s *state.State, a action.ServeRequest) error {
	if p, ok := s.Peers[a.Peer]; !ok || p.Serving[a.ID].Channel != a.Channel {
		return fmt.Errorf("%w: no open request %d from %s", ErrNotOutstanding, a.ID, a.Peer)
	}
	return nil
}

// unlisted scores a message on a channel the peer did not list in its
// handshake and reports false; it reports true for a shared channel.
func unlisted(s *state.State, p *state.Peer, ch state.Channel, q action.Queue) bool {
	if p.Shares(ch) {
		return true
	}
	// The frame's channel number is ours: the peer numbered it from our
	// handshake, in which we listed it, but did not list the channel in
	// its own. A peer that writes on channels it does not have breaks
	// the protocol.
	p.Refused[ch]++
	s.Channels[ch].Refused++
	q.Push(action.Misbehaved{Peer: p.ID, Offence: state.OffenceViolation,
		Detail: fmt.Sprintf("a message on %s, which it did not list in its handshake", s.Config.ChannelName(ch))})
	return false
}

func enabledRequestRefused(s *state.State, a action.RequestRefused) error {
	if _, ok := s.Peers[a.Peer]; !ok {
		return ErrUnknownPeer
	}
	return nil
}

func reduceRequestRefused(s *state.State, a action.RequestRefused) {
	s.Counters.RequestsRefused++
}

func enabledSendResponse(s *state.State, a action.SendResponse) error {
	p, ok := s.Peers[a.Peer]
	if !ok {
		return ErrUnknownPeer
	}
	in, ok := p.Serving[a.ID]
	if !ok || in.Channel != a.Channel {
		return fmt.Errorf("%w: no open request %d from %s on %s", ErrNotOutstanding, a.ID, a.Peer, s.Config.ChannelName(a.Channel))
	}
	if a.Status > state.MaxWireStatus {
		return fmt.Errorf("%w: status %s is not one a response carries", ErrInvalid, a.Status)
	}
	if a.Status != state.RequestOK && a.Len() > 0 {
		return fmt.Errorf("%w: a %s response carries no data", ErrInvalid, a.Status)
	}
	return nil
}

// reduceSendResponse closes the request with the application's answer,
// or, when the answer exceeds the channel's MaxSize, with a "too large"
// refusal in its place (see tooLarge).
func reduceSendResponse(s *state.State, a action.SendResponse, q action.Queue) {
	p := s.Peers[a.Peer]
	delete(p.Serving, a.ID)
	p.Sent[a.Channel]++
	s.Channels[a.Channel].Sent++
	if tooLarge(s, a) {
		q.Push(action.RequestRefused{Peer: a.Peer, Channel: a.Channel, ID: a.ID, Status: state.RequestTooLarge})
	}
}

// tooLarge reports whether an answer exceeds its channel's MaxSize: it is
// not sent, and the peer is told so.
func tooLarge(s *state.State, a action.SendResponse) bool {
	return a.Len() > s.Config.Channels[a.Channel].MaxSize
}

func enabledResponseReceived(s *state.State, a action.ResponseReceived) error {
	if err := enabledIncoming(s, a.Peer, a.Channel, a.Len()); err != nil {
		return err
	}
	if a.Status > state.MaxWireStatus {
		return fmt.Errorf("%w: status %d", ErrInvalid, a.Status)
	}
	return nil
}

// reduceResponseReceived ends the request the response answers. One that
// answers nothing outstanding — too late, a second time, or never asked —
// is scored.
func reduceResponseReceived(s *state.State, a action.ResponseReceived, q action.Queue) {
	p := s.Peers[a.Peer]
	if !unlisted(s, p, a.Channel, q) || !take(s, p, a.Channel, a.Len(), q) {
		return
	}
	p.LastRecv = s.Now
	o, ok := s.Requests.Out[a.ID]
	if !ok || o.Peer != a.Peer || o.Channel != a.Channel {
		what := "which we never sent it"
		if a.ID <= s.Requests.NextID {
			what = "which is not outstanding with it (answered already, timed out, or another peer's)"
		}
		q.Push(action.Misbehaved{Peer: p.ID, Offence: state.OffenceUnsolicited,
			Detail: fmt.Sprintf("a response to request %d on %s, %s", a.ID, s.Config.ChannelName(a.Channel), what)})
		return
	}
	p.Received[a.Channel]++
	s.Channels[a.Channel].Received++
	q.Push(action.RequestDone{Peer: a.Peer, ID: a.ID, Status: a.Status, Data: a.Data, Size: a.Size, Sum: a.Sum})
}

func enabledRequestFailed(s *state.State, a action.RequestFailed) error {
	if o, ok := s.Requests.Out[a.ID]; !ok || o.Peer != a.Peer {
		return fmt.Errorf("%w: no request %d to %s", ErrNotOutstanding, a.ID, a.Peer)
	}
	return nil
}

func reduceRequestFailed(s *state.State, a action.RequestFailed, q action.Queue) {
	q.Push(action.RequestDone{Peer: a.Peer, ID: a.ID, Status: state.RequestPeerGone})
}

func enabledRequestDone(s *state.State, a action.RequestDone) error {
	if o, ok := s.Requests.Out[a.ID]; !ok || o.Peer != a.Peer {
		return fmt.Errorf("%w: no request %d to %s", ErrNotOutstanding, a.ID, a.Peer)
	}
	return nil
}

// reduceRequestDone forgets an ended request and counts its outcome.
func reduceRequestDone(s *state.State, a action.RequestDone) {
	delete(s.Requests.Out, a.ID)
	if p, ok := s.Peers[a.Peer]; ok {
		p.OutRequests--
	}
	if a.Status == state.RequestOK {
		s.Counters.RequestsAnswered++
	} else {
		s.Counters.RequestsFailed++
	}
}

// abortRequests ends every request to a peer that left.
func abortRequests(s *state.State, id state.PeerID, q action.Queue) {
	for _, rid := range state.SortedKeys(s.Requests.Out) {
		if s.Requests.Out[rid].Peer == id {
			q.Push(action.RequestDone{Peer: id, ID: rid, Status: state.RequestPeerGone})
		}
	}
}

// tickRequests times out our requests past their deadline, and stops
// waiting for answers to peers' requests past theirs (the peer has given
// up by then).
func tickRequests(s *state.State, q action.Queue) {
	for _, rid := range state.SortedKeys(s.Requests.Out) {
		if o := s.Requests.Out[rid]; s.Now >= o.Deadline {
			q.Push(action.RequestDone{Peer: o.Peer, ID: rid, Status: state.RequestTimeout})
		}
	}
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		for _, rid := range state.SortedKeys(p.Serving) {
			if s.Now >= p.Serving[rid].Deadline {
				delete(p.Serving, rid)
				s.Counters.RequestsUnanswered++
			}
		}
	}
}
