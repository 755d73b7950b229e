package reducer

import (
	"errors"
	"fmt"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Sessions: the node keeps each session network's target of sessions
// running, on connections it has anyway. A session runs only with a ready
// peer: the connection manager (OutboundTarget, MaxInbound) decides whom
// the node is connected to, and sessions never dial on their own, so the
// connection counts stay within those limits however many session
// networks run. (Chainweb's node dialled per session; here every network
// shares one connection per peer, and a network whose target exceeds the
// ready peers runs short rather than grow the pool.)
//
// Peer choice is Chainweb's: class p0 holds the ready peers that already
// run a session of ours on another network and have at most one
// successive failure (this is what shares the pool); the others are
// grouped by their number of successive failures, fewest first. A
// geometric draw (stop at each class with SessionClassPercent %) picks the
// class, then a uniform draw a peer in it; both from the state RNG.

// Errors of the session API.
var (
	// ErrNoSession: no running session has that ID (it ended).
	ErrNoSession = errors.New("no such session")
	// ErrSessionClosed: our end of the session is closed or stopped.
	ErrSessionClosed = errors.New("the session is closed")
	// ErrSessionNetwork: the session network is already running, or its
	// settings are not valid.
	ErrSessionNetwork = errors.New("invalid session network")
)

func enabledStartSessions(s *state.State, a action.StartSessions) error {
	if err := state.ValidSessionName(a.Network); err != nil {
		return fmt.Errorf("%w: %v", ErrSessionNetwork, err)
	}
	if _, ok := s.SessionNetworkIndex(a.Network); ok {
		return fmt.Errorf("%w: %s is running already", ErrSessionNetwork, a.Network)
	}
	if len(s.Sessions.Networks) >= state.MaxSessionNetworks {
		return fmt.Errorf("%w: %d session networks run already", ErrSessionNetwork, state.MaxSessionNetworks)
	}
	switch {
	case a.Target < 1 || a.Target > 1000:
		return fmt.Errorf("%w: target %d", ErrSessionNetwork, a.Target)
	case a.Timeout < time.Millisecond:
		return fmt.Errorf("%w: timeout %v", ErrSessionNetwork, a.Timeout)
	case a.Budget.Msgs < 0 || a.Budget.Bytes < 0 || a.Budget.Burst < 0:
		return fmt.Errorf("%w: budget %+v", ErrSessionNetwork, a.Budget)
	case a.BufferMessages < 1 || a.BufferBytes < 1 || a.MaxMessage < 1 || a.MaxMessage > s.Config.MaxMessageSize:
		return fmt.Errorf("%w: buffer of %d messages and %d bytes, messages of up to %d bytes (ceiling %d)",
			ErrSessionNetwork, a.BufferMessages, a.BufferBytes, a.MaxMessage, s.Config.MaxMessageSize)
	}
	return nil
}

func reduceStartSessions(s *state.State, a action.StartSessions, q action.Queue) {
	s.Sessions.Networks = append(s.Sessions.Networks, state.SessionNetwork{
		Name: a.Network, Target: a.Target, Timeout: a.Timeout,
		BufferMessages: a.BufferMessages, BufferBytes: a.BufferBytes, MaxMessage: a.MaxMessage, Budget: a.Budget,
	})
	fillSessions(s, q)
}

// fillSessions starts sessions, network by network, until each is at its
// target or has no candidate peer left.
func fillSessions(s *state.State, q action.Queue) {
	if s.Stopping || len(s.Sessions.Networks) == 0 {
		return
	}
	busy, outbound := sessionMasks(s)
	for i := range s.Sessions.Networks {
		n := &s.Sessions.Networks[i]
		for n.Outbound < n.Target {
			peer, ok := choosePeer(s, i, busy, outbound)
			if !ok {
				break
			}
			startSession(s, i, peer, false, 0, q)
			busy[peer] |= 1 << i
			outbound[peer] |= 1 << i
		}
	}
}

// sessionMasks gives, per peer, the networks it runs a session of on (in
// either direction) and those it runs one we started on.
func sessionMasks(s *state.State) (busy, outbound map[state.PeerID]uint64) {
	busy, outbound = map[state.PeerID]uint64{}, map[state.PeerID]uint64{}
	for _, id := range state.SortedKeys(s.Sessions.Running) {
		r := s.Sessions.Running[id]
		busy[r.Peer] |= 1 << r.Network
		if !r.Inbound {
			outbound[r.Peer] |= 1 << r.Network
		}
	}
	return busy, outbound
}

// sessionCandidates lists, in ID order, the peers a new session of network
// net may run with: ready, not us, without a session of ours on net, not
// known to refuse net, and not failed at this very instant.
func sessionCandidates(s *state.State, net int, outbound map[state.PeerID]uint64) []state.PeerID {
	var out []state.PeerID
	for _, id := range state.SortedKeys(s.Peers) {
		p := s.Peers[id]
		if p.Status != state.StatusReady || s.IsSelf(id) || outbound[id]&(1<<net) != 0 {
			continue
		}
		if sp, ok := s.Sessions.Peers[id]; ok && (sp.Unsupported&(1<<net) != 0 || sp.Failures > 0 && sp.LastFailure == s.Now) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// sessionClasses orders the candidates of network net into Chainweb's
// classes: p0 first (a session on another network, at most one successive
// failure), then by successive failures, fewest first. Empty classes are
// left out.
func sessionClasses(s *state.State, net int, cands []state.PeerID, busy map[state.PeerID]uint64) [][]state.PeerID {
	var p0 []state.PeerID
	byFailures := map[int][]state.PeerID{}
	for _, id := range cands {
		failures := 0
		if sp, ok := s.Sessions.Peers[id]; ok {
			failures = sp.Failures
		}
		if busy[id]&^(1<<net) != 0 && failures <= 1 {
			p0 = append(p0, id)
			continue
		}
		byFailures[failures] = append(byFailures[failures], id)
	}
	var classes [][]state.PeerID
	if len(p0) > 0 {
		classes = append(classes, p0)
	}
	for _, f := range state.SortedKeys(byFailures) {
		classes = append(classes, byFailures[f])
	}
	return classes
}

// choosePeer draws the peer of a new session of network net.
func choosePeer(s *state.State, net int, busy, outbound map[state.PeerID]uint64) (state.PeerID, bool) {
	classes := sessionClasses(s, net, sessionCandidates(s, net, outbound), busy)
	if len(classes) == 0 {
		return "", false
	}
	k := 0
	for k < len(classes)-1 && s.RNG.Intn(100) >= s.Config.SessionClassPercent {
		k++
	}
	c := classes[k]
	return c[s.RNG.Intn(len(c))], true
}

// drawTimeout draws a session's timeout uniformly within ±10 % of the
// network's.
func drawTimeout(s *state.State, t time.Duration) time.Duration {
	lo := t - t/10
	return lo + time.Duration(s.RNG.Int63n(int64(t/5)+1))
}

// startSession records a new session and queues its start.
func startSession(s *state.State, net int, peer state.PeerID, inbound bool, stream uint64, q action.Queue) {
	ss := &s.Sessions
	n := &ss.Networks[net]
	timeout := drawTimeout(s, n.Timeout)
	ss.NextID++
	ss.Running[ss.NextID] = &state.Session{Network: net, Peer: peer, Inbound: inbound, Stream: stream,
		Started: s.Now, Deadline: s.Now + int64(timeout)}
	if inbound {
		n.Inbound++
	} else {
		n.Outbound++
	}
	n.Started++
	sp := sessionPeer(s, peer)
	sp.Running++
	q.Push(action.SessionStart{ID: ss.NextID, Network: net, Peer: peer, Timeout: timeout, Inbound: inbound, Stream: stream})
}

// sessionPeer returns the peer's entry, made if it has none: its clock of
// successes starts now.
func sessionPeer(s *state.State, id state.PeerID) *state.SessionPeer {
	sp, ok := s.Sessions.Peers[id]
	if !ok {
		sp = &state.SessionPeer{LastSuccess: s.Now}
		s.Sessions.Peers[id] = sp
	}
	return sp
}

// running is the enabling condition of actions on a running session.
func running(s *state.State, id uint64) (*state.Session, error) {
	r, ok := s.Sessions.Running[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrNoSession, id)
	}
	return r, nil
}

func enabledSessionStart(s *state.State, a action.SessionStart) error {
	_, err := running(s, a.ID)
	return err
}

// maxInboundPerPeer bounds the sessions one peer may have started with us
// on one network: one, and the next while the last is ending (the peer
// starts it as soon as its end of the last is over, before ours is). It
// keeps what peers can open bounded by the connections.
const maxInboundPerPeer = 2

// reduceSessionIncoming accepts a peer's session stream, or refuses it:
// the network is not ours (unsupported), or for now (refused) the node is
// stopping, the peer is not ready, or it has maxInboundPerPeer sessions
// of the network running with us.
func reduceSessionIncoming(s *state.State, a action.SessionIncoming, q action.Queue) {
	refuse := func(o state.SessionOutcome, why string) {
		q.Push(action.SessionRefused{Peer: a.Peer, Network: a.Network, Stream: a.Stream, Outcome: o, Reason: why})
	}
	net, ok := s.SessionNetworkIndex(a.Network)
	switch {
	case !ok:
		refuse(state.SessionUnsupported, "unknown session network")
	case s.Stopping:
		refuse(state.SessionRefused, "shutting down")
	case readyPeer(s, a.Peer) != nil:
		refuse(state.SessionRefused, "peer not ready")
	default:
		n := 0
		for _, id := range state.SortedKeys(s.Sessions.Running) {
			if r := s.Sessions.Running[id]; r.Inbound && r.Peer == a.Peer && r.Network == net {
				n++
			}
		}
		if n >= maxInboundPerPeer {
			refuse(state.SessionRefused, "the peer runs as many sessions of this network as it may")
			return
		}
		startSession(s, net, a.Peer, true, a.Stream, q)
	}
}

func reduceSessionRefused(s *state.State, a action.SessionRefused) {
	if net, ok := s.SessionNetworkIndex(a.Network); ok {
		s.Sessions.Networks[net].Refusals++
	}
}

func enabledSessionReceived(s *state.State, a action.SessionReceived) error {
	r, err := running(s, a.ID)
	if err != nil {
		return err
	}
	if r.Stopped {
		return fmt.Errorf("%w: session %d is stopping", ErrSessionClosed, a.ID)
	}
	return nil
}

// reduceSessionReceived counts a message for the application. One over
// the network's limit fails the session (the service's reader refuses
// such frames already, so only a hostile log or a bug gets here); one
// past the network's budget fails it as over budget: a peer cannot push
// messages into the node and its log faster than the budget allows,
// however fast the application reads.
func reduceSessionReceived(s *state.State, a action.SessionReceived, q action.Queue) {
	r := s.Sessions.Running[a.ID]
	n := &s.Sessions.Networks[r.Network]
	switch {
	case a.Len() > n.MaxMessage:
		r.Stopping = true
		q.Push(action.SessionStop{ID: a.ID, Outcome: state.SessionFailure})
	case !r.Bucket.Charge(s.Now, n.Budget, a.Len()):
		r.Stopping = true
		q.Push(action.SessionStop{ID: a.ID, Outcome: state.SessionOverBudget})
	default:
		r.Received++
	}
}

func enabledSessionSend(s *state.State, a action.SessionSend) error {
	r, err := running(s, a.ID)
	if err != nil {
		return err
	}
	if r.Stopped || r.Closed {
		return fmt.Errorf("%w: session %d", ErrSessionClosed, a.ID)
	}
	if max := s.Sessions.Networks[r.Network].MaxMessage; a.Len() > max {
		return fmt.Errorf("%w: %d bytes, session limit %d", ErrTooLarge, a.Len(), max)
	}
	return nil
}

func reduceSessionSend(s *state.State, a action.SessionSend) { s.Sessions.Running[a.ID].Sent++ }

func enabledSessionClose(s *state.State, a action.SessionClose) error {
	r, err := running(s, a.ID)
	if err != nil {
		return err
	}
	if r.Closed || r.Stopped {
		return fmt.Errorf("%w: session %d", ErrSessionClosed, a.ID)
	}
	return nil
}

func reduceSessionClose(s *state.State, a action.SessionClose) {
	s.Sessions.Running[a.ID].Closed = true
}

func enabledSessionPeerClosed(s *state.State, a action.SessionPeerClosed) error {
	r, err := running(s, a.ID)
	if err != nil {
		return err
	}
	if r.PeerClosed || r.Stopped {
		return fmt.Errorf("%w: session %d", ErrSessionClosed, a.ID)
	}
	return nil
}

func reduceSessionPeerClosed(s *state.State, a action.SessionPeerClosed) {
	s.Sessions.Running[a.ID].PeerClosed = true
}

func enabledSessionFailed(s *state.State, a action.SessionFailed) error {
	if _, err := running(s, a.ID); err != nil {
		return err
	}
	if a.Outcome == state.SessionRunning || a.Outcome == state.SessionSuccess {
		return fmt.Errorf("%w: a failure with outcome %s", ErrInvalid, a.Outcome)
	}
	return nil
}

// reduceSessionFailed stops a session whose stream cannot go on; a peer
// that does not run the network is not asked again for BackoffBase or the
// network's session timeout, whichever is shorter (it may start the
// network just after us), or until it reconnects.
func reduceSessionFailed(s *state.State, a action.SessionFailed, q action.Queue) {
	r := s.Sessions.Running[a.ID]
	if a.Outcome == state.SessionUnsupported {
		sp := sessionPeer(s, r.Peer)
		sp.Unsupported |= 1 << r.Network
		retry := min(s.Config.BackoffBase, s.Sessions.Networks[r.Network].Timeout)
		sp.UnsupportedUntil = max(sp.UnsupportedUntil, s.Now+int64(retry))
	}
	if !r.Stopped {
		q.Push(action.SessionStop{ID: a.ID, Outcome: a.Outcome})
	}
}

func enabledSessionStop(s *state.State, a action.SessionStop) error {
	r, err := running(s, a.ID)
	if err != nil {
		return err
	}
	if r.Stopped {
		return fmt.Errorf("%w: session %d is stopping", ErrSessionClosed, a.ID)
	}
	return nil
}

// reduceSessionStop ends the session's context; the application has
// SessionStopGrace to return.
func reduceSessionStop(s *state.State, a action.SessionStop) {
	r := s.Sessions.Running[a.ID]
	r.Stopped, r.Outcome, r.Stopping = true, a.Outcome, false
	r.Deadline = s.Now + int64(s.Config.SessionStopGrace)
}

func enabledSessionEnded(s *state.State, a action.SessionEnded) error {
	if _, err := running(s, a.ID); err != nil {
		return err
	}
	switch a.Outcome {
	case state.SessionSuccess, state.SessionFailure, state.SessionPanic:
		return nil
	}
	return fmt.Errorf("%w: a callback cannot end with outcome %s", ErrInvalid, a.Outcome)
}

// reduceSessionEnded decides what the end of the callback means: once a
// session was stopped, the reason it was stopped counts (a timeout is a
// success however the callback took it); otherwise what it returned.
func reduceSessionEnded(s *state.State, a action.SessionEnded, q action.Queue) {
	r := s.Sessions.Running[a.ID]
	outcome := a.Outcome
	if r.Stopped {
		outcome = r.Outcome
	}
	q.Push(action.SessionDone{ID: a.ID, Outcome: outcome})
}

func enabledSessionDone(s *state.State, a action.SessionDone) error {
	_, err := running(s, a.ID)
	return err
}

// reduceSessionDone forgets the session, counts its outcome for its peer
// (a success resets the successive failures), and starts another.
func reduceSessionDone(s *state.State, a action.SessionDone, q action.Queue) {
	ss := &s.Sessions
	r := ss.Running[a.ID]
	delete(ss.Running, a.ID)
	n := &ss.Networks[r.Network]
	if r.Inbound {
		n.Inbound--
	} else {
		n.Outbound--
	}
	switch {
	case a.Outcome == state.SessionTimeout:
		n.TimedOut++
	case a.Outcome.Succeeded():
		n.Succeeded++
	case a.Outcome.Neutral():
		n.Refused++
	default:
		n.Failed++
	}
	sp := sessionPeer(s, r.Peer)
	sp.Running--
	switch {
	case a.Outcome.Succeeded():
		sp.Failures, sp.LastSuccess = 0, s.Now
	case !a.Outcome.Neutral():
		sp.Failures++
		sp.LastFailure = s.Now
	}
	fillSessions(s, q)
}

// stopSessions stops every session with a peer that left, and forgets
// which networks it refused on that connection. When we closed the
// connection (p.Reason is ours) that is no failure of the peer.
func stopSessions(s *state.State, p *state.Peer, q action.Queue) {
	id, outcome := p.ID, state.SessionPeerGone
	if p.Reason != state.ReasonNone {
		outcome = state.SessionClosed
	}
	if sp, ok := s.Sessions.Peers[id]; ok {
		sp.Unsupported = 0
	}
	for _, sid := range state.SortedKeys(s.Sessions.Running) {
		if r := s.Sessions.Running[sid]; r.Peer == id && !r.Stopped {
			q.Push(action.SessionStop{ID: sid, Outcome: outcome})
		}
	}
}

// tickSessions stops sessions past their timeout, ends those stopped that
// did not return within the grace, prunes peers whose sessions keep
// failing, forgets entries of peers we no longer know, and refills.
func tickSessions(s *state.State, q action.Queue) {
	ss := &s.Sessions
	for _, id := range state.SortedKeys(ss.Running) {
		r := ss.Running[id]
		switch {
		case s.Now < r.Deadline:
		case !r.Stopped:
			q.Push(action.SessionStop{ID: id, Outcome: state.SessionTimeout})
		default:
			q.Push(action.SessionDone{ID: id, Outcome: r.Outcome})
		}
	}
	for _, id := range state.SortedKeys(ss.Peers) {
		sp := ss.Peers[id]
		if sp.Unsupported != 0 && s.Now >= sp.UnsupportedUntil {
			sp.Unsupported = 0
		}
		if sp.Running > 0 {
			continue
		}
		e, inBook := s.Discovery.Book[id]
		_, connected := s.Peers[id]
		switch {
		case !inBook && !connected:
			delete(ss.Peers, id)
		case inBook && !e.Boot && sp.Failures > s.Config.SessionMaxFailures &&
			s.Now-sp.LastSuccess > int64(s.Config.SessionPruneAfter):
			q.Push(action.SessionPruned{Peer: id})
		}
	}
	fillSessions(s, q)
}

func enabledSessionPruned(s *state.State, a action.SessionPruned) error {
	if _, ok := s.Discovery.Book[a.Peer]; !ok {
		return ErrUnknownPeer
	}
	return nil
}

func reduceSessionPruned(s *state.State, a action.SessionPruned) {
	s.BookDelete(a.Peer)
	if sp, ok := s.Sessions.Peers[a.Peer]; ok && sp.Running == 0 {
		if _, connected := s.Peers[a.Peer]; !connected {
			delete(s.Sessions.Peers, a.Peer)
		}
	}
}

// enabledSession is Enabled for the session actions; ok is false for any
// other action.
func enabledSession(s *state.State, a action.Action) (ok bool, err error) {
	switch a := a.(type) {
	case action.StartSessions:
		return true, enabledStartSessions(s, a)
	case action.SessionIncoming, action.SessionRefused:
		return true, nil
	case action.SessionReceived:
		return true, enabledSessionReceived(s, a)
	case action.SessionSend:
		return true, enabledSessionSend(s, a)
	case action.SessionClose:
		return true, enabledSessionClose(s, a)
	case action.SessionPeerClosed:
		return true, enabledSessionPeerClosed(s, a)
	case action.SessionEnded:
		return true, enabledSessionEnded(s, a)
	case action.SessionFailed:
		return true, enabledSessionFailed(s, a)
	case action.SessionStart:
		return true, enabledSessionStart(s, a)
	case action.SessionStop:
		return true, enabledSessionStop(s, a)
	case action.SessionDone:
		return true, enabledSessionDone(s, a)
	case action.SessionPruned:
		return true, enabledSessionPruned(s, a)
	}
	return false, nil
}

// reduceSession is Reduce for the session actions.
func reduceSession(s *state.State, a action.Action, q action.Queue) {
	switch a := a.(type) {
	case action.StartSessions:
		reduceStartSessions(s, a, q)
	case action.SessionIncoming:
		reduceSessionIncoming(s, a, q)
	case action.SessionRefused:
		reduceSessionRefused(s, a)
	case action.SessionReceived:
		reduceSessionReceived(s, a, q)
	case action.SessionSend:
		reduceSessionSend(s, a)
	case action.SessionClose:
		reduceSessionClose(s, a)
	case action.SessionPeerClosed:
		reduceSessionPeerClosed(s, a)
	case action.SessionEnded:
		reduceSessionEnded(s, a, q)
	case action.SessionFailed:
		reduceSessionFailed(s, a, q)
	case action.SessionStop:
		reduceSessionStop(s, a)
	case action.SessionDone:
		reduceSessionDone(s, a, q)
	case action.SessionPruned:
		reduceSessionPruned(s, a)
	case action.SessionStart:
		// Recorded by startSessions already; its effect opens the stream.
	}
}
