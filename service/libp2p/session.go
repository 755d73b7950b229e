package libp2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Sessions. Each session is a stream of the connection to its peer,
// /p2pcore/<network>/session/<name>/1, opened without dialling: sessions
// of every session network share the node's one connection per peer. A
// stream carries frames: an unsigned varint length, then a type byte and
// its body — data (0) with the application's message, or abort (1) with
// one byte of state.SessionOutcome (timeout, overflow, unsupported,
// refused), written before the stream is closed, so that the peer's
// session ends the same way. Closing our end is the stream's CloseWrite;
// a failure is a reset. Every protocol of the family is accepted here and
// the state machine refuses the networks it does not run, so that a peer
// learns "unsupported" rather than a failed negotiation.

const (
	sessionData  = 0
	sessionAbort = 1
)

// sessionOpenTimeout bounds the opening of a session stream.
const sessionOpenTimeout = 10 * time.Second

// sessionPrefix is the protocol prefix of the network's session streams.
func (s *Service) sessionPrefix() string { return "/p2pcore/" + s.cfg.Network + "/session/" }

// sessionName is the session network a protocol ID names, if it is one
// of ours.
func (s *Service) sessionName(id protocol.ID) (string, bool) {
	rest, ok := strings.CutPrefix(string(id), s.sessionPrefix())
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "/1")
	if !ok || state.ValidSessionName(name) != nil {
		return "", false
	}
	return name, true
}

// sessions is the service's session streams.
type sessions struct {
	mu      sync.Mutex
	byID    map[uint64]*sessStream
	pending map[uint64]network.Stream
	seq     uint64
}

// sessStream is one session's stream and its outgoing queue.
type sessStream struct {
	s      *Service
	id     uint64
	maxMsg int
	// limit bounds the queue (messages and bytes): the peer's buffer is as
	// large, so a sender that gets this far ahead overflows it anyway.
	limitMsgs, limitBytes int

	mu     sync.Mutex
	st     network.Stream
	queue  [][]byte
	bytes  int
	close  bool                 // close our end once the queue is written
	end    state.SessionOutcome // set with ended: how to finish the stream
	ended  bool
	wake   chan struct{}
	failed bool
	// released counts the goroutines (reader, writer) done with st.
	released int
}

func (s *Service) sessTable() *sessions {
	s.sessOnce.Do(func() {
		s.sess = &sessions{byID: map[uint64]*sessStream{}, pending: map[uint64]network.Stream{}}
		s.h.SetStreamHandlerMatch(protocol.ID(s.sessionPrefix()), func(id protocol.ID) bool {
			_, ok := s.sessionName(id)
			return ok
		}, s.handleSession)
	})
	return s.sess
}

// handleSession is a session stream a peer opened: held, unread, until
// the state machine accepts it (OpenSession) or refuses it (EndSession).
func (s *Service) handleSession(st network.Stream) {
	name, ok := s.sessionName(st.Protocol())
	if !ok {
		st.Reset()
		return
	}
	t := s.sess
	t.mu.Lock()
	t.seq++
	num := t.seq
	t.pending[num] = st
	t.mu.Unlock()
	p := st.Conn().RemotePeer()
	s.emitMessage(p, st.Conn(), action.SessionIncoming{Peer: state.PeerID(p.String()), Network: name, Stream: num})
}

// OpenSession opens the session's stream (or takes the inbound one) and
// starts the application's callback.
func (s *Service) OpenSession(c service.OpenSession) {
	t := s.sessTable()
	ss := &sessStream{s: s, id: c.ID, maxMsg: c.MaxMessage, limitMsgs: c.BufferMessages, limitBytes: c.BufferBytes,
		wake: make(chan struct{}, 1)}
	t.mu.Lock()
	t.byID[c.ID] = ss
	var inbound network.Stream
	if c.Stream != 0 {
		inbound = t.pending[c.Stream]
		delete(t.pending, c.Stream)
	}
	t.mu.Unlock()
	if s.cfg.Sessions != nil {
		s.cfg.Sessions.Open(c)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		st := inbound
		if c.Stream == 0 {
			var err error
			st, err = s.openSession(c)
			if err != nil {
				outcome := state.SessionPeerGone
				if errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}) {
					outcome = state.SessionUnsupported
				}
				ss.fail(outcome, err)
				return
			}
		} else if st == nil {
			ss.fail(state.SessionPeerGone, errors.New("the stream is gone"))
			return
		}
		ss.mu.Lock()
		ss.st = st
		ss.mu.Unlock()
		s.wg.Add(1)
		go ss.read(st)
		ss.write(st)
	}()
}

// openSession opens a session stream on the existing connection.
func (s *Service) openSession(c service.OpenSession) (network.Stream, error) {
	p, err := exactID(c.Peer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, sessionOpenTimeout)
	defer cancel()
	ctx = network.WithNoDial(ctx, "p2pcore: sessions run on existing connections")
	return s.h.NewStream(ctx, p, protocol.ID(service.SessionProtocol(s.cfg.Network, c.Network)))
}

// fail reports that the session's stream cannot go on, once.
func (ss *sessStream) fail(outcome state.SessionOutcome, err error) {
	ss.mu.Lock()
	done := ss.failed || ss.ended
	ss.failed = true
	ss.mu.Unlock()
	if !done {
		ss.s.cfg.Sink(action.SessionFailed{ID: ss.id, Outcome: outcome, Error: service.ErrorText(err)})
	}
}

// read reports the peer's frames until the stream ends.
func (ss *sessStream) read(st network.Stream) {
	defer ss.s.wg.Done()
	defer ss.release(st)
	p := st.Conn().RemotePeer()
	br := bufio.NewReader(st)
	for {
		size, err := binary.ReadUvarint(br)
		switch {
		case err == io.EOF:
			ss.emit(p, st, action.SessionPeerClosed{ID: ss.id})
			return
		case err != nil:
			ss.fail(state.SessionPeerGone, err)
			return
		case size == 0 || size > uint64(ss.maxMsg)+1:
			ss.fail(state.SessionFailure, fmt.Errorf("a session frame of %d bytes, limit %d", size, ss.maxMsg+1))
			st.Reset()
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(br, frame); err != nil {
			ss.fail(state.SessionPeerGone, err)
			return
		}
		switch {
		case frame[0] == sessionData:
			ss.emit(p, st, action.SessionReceived{ID: ss.id, Data: frame[1:]})
		case frame[0] == sessionAbort && len(frame) == 2 && abortOutcome(state.SessionOutcome(frame[1])):
			ss.fail(state.SessionOutcome(frame[1]), errors.New("ended by the peer"))
			return
		default:
			ss.fail(state.SessionFailure, fmt.Errorf("a malformed session frame (type %d, %d bytes)", frame[0], len(frame)))
			st.Reset()
			return
		}
	}
}

// abortOutcome reports whether an abort frame may carry o.
func abortOutcome(o state.SessionOutcome) bool {
	switch o {
	case state.SessionTimeout, state.SessionOverflow, state.SessionUnsupported, state.SessionRefused:
		return true
	}
	return false
}

// emit reports a frame's event unless the session has ended on our side.
func (ss *sessStream) emit(p peer.ID, st network.Stream, a action.Action) {
	ss.mu.Lock()
	ended := ss.ended || ss.failed
	ss.mu.Unlock()
	if !ended {
		ss.s.emitMessage(p, st.Conn(), a)
	}
}

// write writes the queue, then finishes the stream as the session's end
// says.
func (ss *sessStream) write(st network.Stream) {
	stall := ss.s.cfg.Rules.WriteStallTimeout
	for {
		ss.mu.Lock()
		queue, closeWrite, ended, end := ss.queue, ss.close, ss.ended, ss.end
		ss.queue, ss.bytes = nil, 0
		ss.mu.Unlock()
		for _, msg := range queue {
			st.SetWriteDeadline(time.Now().Add(stall))
			if err := writeSessionFrame(st, sessionData, msg); err != nil {
				// The reader reports how the stream ended: the peer
				// may have written why (an abort frame) before it
				// closed, and a reset here would lose that.
				st.CloseWrite()
				ss.release(st)
				return
			}
		}
		if ended {
			ss.finish(st, end)
			return
		}
		if closeWrite {
			st.CloseWrite()
		}
		select {
		case <-ss.wake:
		case <-ss.s.ctx.Done():
			st.Reset()
			ss.release(st)
			return
		}
	}
}

// finish ends our side of the stream: our close, after an abort frame for
// the outcomes the peer is told; a reset for a failure. The reader goes
// on until the peer closes its side too (within CloseTimeout): closing
// the read side now would reset the stream, and the peer could lose the
// abort frame.
func (ss *sessStream) finish(st network.Stream, end state.SessionOutcome) {
	defer ss.release(st)
	linger := ss.s.cfg.Rules.CloseTimeout
	switch {
	case end == state.SessionRunning:
		st.CloseWrite()
	case abortOutcome(end):
		st.SetWriteDeadline(time.Now().Add(linger))
		writeSessionFrame(st, sessionAbort, []byte{byte(end)})
		st.CloseWrite()
	default:
		st.Reset()
		return
	}
	st.SetReadDeadline(time.Now().Add(linger))
}

// release closes the stream once both the reader and the writer are done
// with it.
func (ss *sessStream) release(st network.Stream) {
	ss.mu.Lock()
	ss.released++
	last := ss.released == 2
	ss.mu.Unlock()
	if last {
		st.Close()
	}
}

func writeSessionFrame(w io.Writer, typ byte, body []byte) error {
	b := binary.AppendUvarint(make([]byte, 0, len(body)+binary.MaxVarintLen64+1), uint64(len(body)+1))
	b = append(b, typ)
	b = append(b, body...)
	_, err := w.Write(b)
	return err
}

func (ss *sessStream) poke() {
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

// SessionWrite queues a message (or our close) for the session's writer.
func (s *Service) SessionWrite(c service.SessionWrite) {
	t := s.sessTable()
	t.mu.Lock()
	ss := t.byID[c.ID]
	t.mu.Unlock()
	if ss == nil {
		return
	}
	ss.mu.Lock()
	over := false
	if c.Close {
		ss.close = true
	} else if len(ss.queue)+1 > ss.limitMsgs || ss.bytes+len(c.Data) > ss.limitBytes {
		over = true
	} else {
		ss.queue = append(ss.queue, c.Data)
		ss.bytes += len(c.Data)
	}
	ss.mu.Unlock()
	if over {
		ss.fail(state.SessionOverflow, errors.New("send queue full: the peer's receive buffer would overflow"))
		return
	}
	ss.poke()
}

// SessionDeliver hands the application a message of the session's peer.
func (s *Service) SessionDeliver(c service.SessionDeliver) {
	if s.cfg.Sessions != nil {
		s.cfg.Sessions.Deliver(c)
	}
}

// EndSession stops or ends a session, or refuses a peer's stream.
func (s *Service) EndSession(c service.EndSession) {
	t := s.sessTable()
	if c.ID == 0 {
		t.mu.Lock()
		st := t.pending[c.Stream]
		delete(t.pending, c.Stream)
		t.mu.Unlock()
		if st != nil {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				st.SetWriteDeadline(time.Now().Add(s.cfg.Rules.CloseTimeout))
				writeSessionFrame(st, sessionAbort, []byte{byte(c.Outcome)})
				st.Close()
			}()
		}
		return
	}
	if s.cfg.Sessions != nil {
		s.cfg.Sessions.End(c)
	}
	t.mu.Lock()
	ss := t.byID[c.ID]
	delete(t.byID, c.ID)
	t.mu.Unlock()
	if ss == nil {
		return
	}
	ss.mu.Lock()
	ss.ended, ss.end = true, c.Outcome
	ss.mu.Unlock()
	ss.poke()
}
