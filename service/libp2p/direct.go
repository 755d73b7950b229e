package libp2p

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// The direct protocol carries control and direct messages on one stream per
// peer and direction, as frames:
//
//	frame = channel (1 byte) ‖ length (unsigned LEB128) ‖ payload
//
// The reader checks the channel and the length against that channel's
// limit before it allocates anything; a bad frame is reported
// (FrameRejected, which the state machine scores) and the stream is reset.

// maxHeader is the largest frame header.
const maxHeader = 1 + binary.MaxVarintLen64

type frame struct {
	ch state.Channel
	// wire is the channel's number at the peer, written in the frame.
	wire     state.Channel
	data     []byte
	priority bool
	// req is the header of a frame on a request channel.
	req *reqHeader
	// queued is when it was queued, for its channel's MaxAge.
	queued time.Time
}

// failure is the action that reports count frames like f not written:
// SendFailed for messages, RequestFailed for a request (a response that
// is not written is not reported: the peer times out); nil if none.
func (f frame) failure(id state.PeerID, count uint32, why string) action.Action {
	switch {
	case f.req == nil:
		return action.SendFailed{Peer: id, Channel: f.ch, Count: count, Error: why}
	case f.req.kind == frameRequest:
		return action.RequestFailed{Peer: id, ID: f.req.id, Error: why}
	}
	return nil
}

// writer owns the outbound stream to one peer. Priority frames (control,
// block) go out before bulk ones; a close requested by the state machine
// happens after everything queued before it.
//
// A write has no deadline of its own: a peer that stops reading blocks
// it, the stall watch reports that (WriteStalled) once no byte has moved
// for Rules.WriteStallTimeout, and the state machine decides to close the
// peer. Only then does a deadline apply (Rules.CloseTimeout), so that the
// close itself cannot block.
type writer struct {
	s  *Service
	p  peer.ID
	id state.PeerID

	mu      sync.Mutex
	cond    *sync.Cond
	q       outQueue
	closing bool
	done    bool

	stream network.Stream
	bw     *bufio.Writer
	// open is stream, shared under mu so that close can cut a blocked
	// write short; closeBy is the deadline of everything after a close.
	open    network.Stream
	closeBy time.Time

	// For the stall watch: frames queued or being written, when bytes
	// last moved (or the queue last became non-empty), and whether the
	// current stall has been reported.
	pending    atomic.Int64
	progressAt atomic.Int64
	stalled    atomic.Bool
}

func newWriter(s *Service, p peer.ID, id state.PeerID) *writer {
	w := &writer{s: s, p: p, id: id}
	w.cond = sync.NewCond(&w.mu)
	s.wg.Add(1)
	go w.run()
	return w
}

func (w *writer) enqueue(f frame) {
	w.mu.Lock()
	if w.done || w.closing {
		w.mu.Unlock()
		w.fail([]frame{f}, "the connection is closing")
		return
	}
	if w.pending.Add(1) == 1 {
		w.moved()
	}
	w.q.push(f)
	w.cond.Signal()
	w.mu.Unlock()
}

// moved notes progress: bytes written, or a queue that was empty.
func (w *writer) moved() {
	w.progressAt.Store(time.Now().UnixNano())
	w.stalled.Store(false)
}

// close asks the writer to close the peer after its queue; false if it has
// already stopped.
func (w *writer) close() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return false
	}
	w.closing = true
	w.closeBy = time.Now().Add(w.s.cfg.Rules.CloseTimeout)
	if w.open != nil {
		w.open.SetWriteDeadline(w.closeBy)
	}
	w.cond.Signal()
	return true
}

func (w *writer) closed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done || w.closing
}

// stop ends the writer without closing the peer (it is gone, or the
// service is closing); queued messages fail.
func (w *writer) stop() {
	w.mu.Lock()
	w.done = true
	w.cond.Signal()
	w.mu.Unlock()
}

func (w *writer) run() {
	defer w.s.wg.Done()
	for {
		w.mu.Lock()
		for w.q.len() == 0 && !w.closing && !w.done {
			w.cond.Wait()
		}
		done, closing := w.done, w.closing
		var batch []frame
		if done {
			batch = w.q.drain()
		} else {
			batch = w.q.next()
		}
		w.mu.Unlock()
		if done {
			w.fail(batch, "the connection closed")
			if w.stream != nil {
				w.stream.Reset()
			}
			return
		}
		idle := len(batch) == 0
		batch = w.dropExpired(batch)
		var sent [state.MaxChannels]uint32
		for i, f := range batch {
			err := w.write(f)
			if err == nil && i == len(batch)-1 && w.bw != nil {
				if err = w.bw.Flush(); err != nil {
					w.resetStream()
				}
			}
			w.pending.Add(-1)
			w.moved()
			if err != nil && isTimeout(err) && w.closed() {
				// The close's own deadline passed: the peer is not
				// reading. What is left is given up and the close ends.
				w.report(sent)
				w.abandon(batch[i:])
				return
			}
			if err != nil {
				// The stream failed (it is reset; the next frame opens a
				// new one, if the connection still stands).
				w.report(sent)
				clear(sent[:])
				w.fail([]frame{f}, service.ErrorText(err))
				continue
			}
			if f.req == nil {
				sent[f.ch]++
			}
		}
		w.report(sent)
		if closing && idle {
			if w.stream != nil {
				w.linger()
			}
			w.mu.Lock()
			w.done = true
			w.mu.Unlock()
			if w.s.beginFinish(w.p) {
				w.s.finishClose(w.p)
			}
			return
		}
	}
}

// dropExpired reports and drops the frames queued longer than their
// channel's MaxAge (control and request frames have none).
func (w *writer) dropExpired(batch []frame) []frame {
	rules := &w.s.cfg.Rules
	keep, stale := expired(batch, time.Now(), func(f frame) time.Duration {
		if f.req != nil || f.ch == state.ChannelControl {
			return 0
		}
		return rules.Channels[f.ch].MaxAge
	})
	if len(stale) == 0 {
		return batch
	}
	var n [state.MaxChannels]uint32
	for _, f := range stale {
		n[f.ch]++
	}
	w.pending.Add(-int64(len(stale)))
	w.s.emitMu.Lock()
	defer w.s.emitMu.Unlock()
	for ch, count := range n {
		if count > 0 {
			w.s.emit(action.Expired{Peer: w.id, Channel: state.Channel(ch), Count: count})
		}
	}
	return keep
}

// linger half-closes the stream and waits, for Rules.CloseLinger at most,
// until the peer has read everything and closed its side too. Closing the
// connection at once could lose the frames still in flight — among them
// the Disconnect that tells the peer why.
func (w *writer) linger() {
	if err := w.stream.CloseWrite(); err == nil {
		w.stream.SetReadDeadline(time.Now().Add(w.s.cfg.Rules.CloseLinger))
		io.Copy(io.Discard, io.LimitReader(w.stream, 1<<16))
	}
	w.stream.Close()
}

// abandon gives up on a peer being closed that did not read what was
// queued before the close within Rules.CloseTimeout: what is left fails,
// and the close goes ahead.
func (w *writer) abandon(left []frame) {
	w.s.log.Debug("closing a peer that stopped reading", "peer", w.p)
	w.mu.Lock()
	w.done = true
	left = append(left, w.q.drain()...)
	w.mu.Unlock()
	w.resetStream()
	w.fail(left, "the peer did not read before the close timeout")
	if w.s.beginFinish(w.p) {
		w.s.finishClose(w.p)
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return err != nil && errors.As(err, &ne) && ne.Timeout()
}

// write sends one frame, opening the stream if needed. It never dials: a
// peer without a connection cannot be written to.
func (w *writer) write(f frame) error {
	if w.stream == nil {
		ctx := network.WithNoDial(w.s.ctx, "p2pcore sends only on existing connections")
		st, err := w.s.h.NewStream(ctx, w.p, w.s.direct)
		if err != nil {
			return err
		}
		w.stream, w.bw = st, bufio.NewWriterSize(progressWriter{st, w}, 64<<10)
		w.mu.Lock()
		w.open = st
		// A close asked before the stream existed still bounds it.
		if !w.closeBy.IsZero() {
			st.SetWriteDeadline(w.closeBy)
		}
		w.mu.Unlock()
	}
	var head [maxHeader + maxReqHeader]byte
	head[0] = byte(f.wire)
	var req []byte
	if f.req != nil {
		req = f.req.append(head[maxHeader:maxHeader])
	}
	n := 1 + binary.PutUvarint(head[1:], uint64(len(req)+len(f.data)))
	n += copy(head[n:], req)
	if _, err := w.bw.Write(head[:n]); err != nil {
		w.resetStream()
		return err
	}
	if _, err := w.bw.Write(f.data); err != nil {
		w.resetStream()
		return err
	}
	return nil
}

// progressWriter writes to the stream in pieces and notes the progress of
// each, so the stall watch sees a large frame moving slowly as moving.
type progressWriter struct {
	st network.Stream
	w  *writer
}

// progressPiece is the most written between two notes of progress.
const progressPiece = 64 << 10

func (p progressWriter) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := p.st.Write(b[n:min(len(b), n+progressPiece)])
		n += k
		if k > 0 {
			p.w.moved()
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (w *writer) resetStream() {
	if w.stream != nil {
		w.stream.Reset()
	}
	w.stream, w.bw = nil, nil
	w.mu.Lock()
	w.open = nil
	w.mu.Unlock()
}

// fail reports frames that were not, and will not be, written.
func (w *writer) fail(frames []frame, why string) {
	if len(frames) == 0 {
		return
	}
	var failed [state.MaxChannels]uint32
	var requests []action.Action
	for _, f := range frames {
		if f.req == nil {
			failed[f.ch]++
		} else if a := f.failure(w.id, 1, why); a != nil {
			requests = append(requests, a)
		}
	}
	w.pending.Add(-int64(len(frames)))
	w.s.emitMu.Lock()
	defer w.s.emitMu.Unlock()
	for ch, n := range failed {
		if n > 0 {
			w.s.emit(frame{ch: state.Channel(ch)}.failure(w.id, n, why))
		}
	}
	for _, a := range requests {
		w.s.emit(a)
	}
}

// report reports frames written. Control frames are not reported: the
// state machine does not count them in flight.
func (w *writer) report(sent [state.MaxChannels]uint32) {
	any := false
	for ch, n := range sent {
		any = any || (n > 0 && state.Channel(ch) != state.ChannelControl)
	}
	if !any {
		return
	}
	w.s.emitMu.Lock()
	defer w.s.emitMu.Unlock()
	for ch, n := range sent {
		if n > 0 && state.Channel(ch) != state.ChannelControl {
			w.s.emit(action.Sent{Peer: w.id, Channel: state.Channel(ch), Count: n})
		}
	}
}

// payloadChunk is the most a frame's payload buffer holds before the
// bytes to fill it have arrived.
const payloadChunk = 256 << 10

// readPayload reads size bytes. The buffer grows as the bytes arrive,
// fourfold each time it is full, so a header that claims 10 MiB and is
// followed by nothing costs 256 KiB, not 10 MiB: the claimed size is a
// promise, not a fact, until the bytes are here. (Growing fourfold rather
// than twofold copies a 1 MiB payload once instead of four times.)
func readPayload(r io.Reader, size uint64) ([]byte, uint64, error) {
	data := make([]byte, 0, min(size, payloadChunk))
	for uint64(len(data)) < size {
		if len(data) == cap(data) {
			data = slices.Grow(data, int(min(size-uint64(len(data)), 3*uint64(cap(data)))))
		}
		n, err := io.ReadFull(r, data[len(data):min(uint64(cap(data)), size)])
		data = data[:len(data)+n]
		if err != nil {
			if errors.Is(err, io.EOF) && len(data) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, uint64(len(data)), err
		}
	}
	return data, size, nil
}

// handleStream is a stream a peer opened on the direct protocol. The state
// machine decides whether it may be read (StreamOpened; AcceptStream or
// ResetStream); until then nothing is read from it.
func (s *Service) handleStream(st network.Stream) {
	p, conn := st.Conn().RemotePeer(), st.Conn()
	id := state.PeerID(p.String())
	num, ok := s.admit(p, conn, id, st)
	if !ok {
		st.Reset()
		return
	}
	defer s.emitMessage(p, conn, action.StreamClosed{Peer: id, Stream: num})
	br := bufio.NewReaderSize(st, 64<<10)
	reject := func(ch state.Channel, size uint64, why string) {
		s.emitMessage(p, conn, action.FrameRejected{Peer: id, Channel: ch, Size: size, Reason: why})
		st.Reset()
	}
	rules := &s.cfg.Rules
	for {
		// A throttled peer is not read: the transport's flow control
		// holds it back until the state machine lets it go on.
		if wait := s.gossip.unthrottled(p); wait != nil {
			select {
			case <-wait:
			case <-s.ctx.Done():
				st.Reset()
				return
			}
		}
		c, err := br.ReadByte()
		if err != nil {
			st.Close()
			return
		}
		ch := state.Channel(c)
		// Once a frame has begun, its bytes must keep coming: the whole
		// frame within FrameTimeout plus its size at MinFrameRate.
		st.SetReadDeadline(time.Now().Add(rules.FrameTimeout))
		size, err := binary.ReadUvarint(br)
		if err != nil {
			switch {
			case isTimeout(err):
				s.emitMessage(p, conn, action.ReadStalled{Peer: id, Channel: ch})
				st.Reset()
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				reject(ch, 0, "frame header cut short")
			default:
				reject(ch, 0, "malformed frame length")
			}
			return
		}
		if !rules.HasChannel(ch) {
			reject(ch, size, fmt.Sprintf("frame on unknown channel %d", c))
			return
		}
		if rules.Channels[ch].IsBroadcast() {
			reject(ch, size, fmt.Sprintf("frame on broadcast channel %s", rules.ChannelName(ch)))
			return
		}
		limit := rules.Channels[ch].MaxSize
		if rules.Channels[ch].Kind == state.Request {
			limit += maxReqHeader
		}
		if size > uint64(limit) {
			reject(ch, size, fmt.Sprintf("frame of %d bytes exceeds the %s limit of %d", size, rules.ChannelName(ch), limit))
			return
		}
		st.SetReadDeadline(time.Now().Add(rules.FrameTimeout + time.Duration(size)*time.Second/time.Duration(rules.MinFrameRate)))
		data, got, err := readPayload(br, size)
		if err != nil {
			switch {
			case isTimeout(err):
				s.emitMessage(p, conn, action.ReadStalled{Peer: id, Channel: ch, Size: size, Received: got})
				st.Reset()
			case errors.Is(err, io.ErrUnexpectedEOF):
				reject(ch, size, "frame cut short")
			default:
				st.Reset()
			}
			return
		}
		st.SetReadDeadline(time.Time{})
		if rules.Channels[ch].Kind == state.Request {
			a, err := requestInput(id, ch, rules.Channels[ch].MaxSize, data)
			if err != nil {
				reject(ch, size, err.Error())
				return
			}
			s.emitMessage(p, conn, a)
			continue
		}
		s.emitMessage(p, conn, action.MessageReceived{Peer: id, Channel: ch, Data: data})
	}
}

// admit reports a new inbound stream to the state machine and waits for
// its decision.
func (s *Service) admit(p peer.ID, conn network.Conn, id state.PeerID, st network.Stream) (uint64, bool) {
	num := s.streamSeq.Add(1)
	decision := make(chan bool, 1)
	s.mu.Lock()
	s.streams[num] = decision
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, num)
		s.mu.Unlock()
	}()
	s.emitMessage(p, conn, action.StreamOpened{Peer: id, Stream: num, Protocol: string(st.Protocol())})
	select {
	case ok := <-decision:
		return num, ok
	case <-s.ctx.Done():
		return num, false
	}
}

// AcceptStream lets an inbound stream be read.
func (s *Service) AcceptStream(_ state.PeerID, stream uint64) { s.decide(stream, true) }

// ResetStream refuses an inbound stream.
func (s *Service) ResetStream(_ state.PeerID, stream uint64) { s.decide(stream, false) }

func (s *Service) decide(stream uint64, ok bool) {
	s.mu.Lock()
	decision := s.streams[stream]
	s.mu.Unlock()
	if decision != nil {
		select {
		case decision <- ok:
		default:
		}
	}
}
