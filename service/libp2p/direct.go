package libp2p

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pcore/p2pcore/action"
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
	ch       state.Channel
	data     []byte
	priority bool
}

// writer owns the outbound stream to one peer. Priority frames (control,
// block) go out before bulk ones; a close requested by the state machine
// happens after everything queued before it.
type writer struct {
	s  *Service
	p  peer.ID
	id state.PeerID

	mu      sync.Mutex
	cond    *sync.Cond
	prio    []frame
	bulk    []frame
	closing bool
	done    bool

	stream network.Stream
	bw     *bufio.Writer
	// open is stream, shared under mu so that close can cut a blocked
	// write short; closeBy is the deadline of everything after a close.
	open    network.Stream
	closeBy time.Time
}

// writeTimeout bounds one frame's write; closeTimeout bounds what is left
// once a close is asked for. A peer that stops reading fills its flow
// control window and would otherwise block its writer — and its close —
// for ever.
const (
	writeTimeout = 30 * time.Second
	closeTimeout = 5 * time.Second
)

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
		w.giveUp([]frame{f})
		return
	}
	if f.priority {
		w.prio = append(w.prio, f)
	} else {
		w.bulk = append(w.bulk, f)
	}
	w.cond.Signal()
	w.mu.Unlock()
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
	w.closeBy = time.Now().Add(closeTimeout)
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
// service is closing); queued messages are given up.
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
		for len(w.prio)+len(w.bulk) == 0 && !w.closing && !w.done {
			w.cond.Wait()
		}
		batch := append(w.prio, w.bulk...)
		w.prio, w.bulk = nil, nil
		done, closing := w.done, w.closing
		w.mu.Unlock()
		if done {
			w.giveUp(batch)
			if w.stream != nil {
				w.stream.Reset()
			}
			return
		}
		var sent [state.NumChannels]uint32
		for i, f := range batch {
			err := w.write(f)
			if err == nil && i == len(batch)-1 && w.bw != nil {
				if err = w.bw.Flush(); err != nil {
					w.resetStream()
				}
			}
			if isTimeout(err) {
				w.report(sent)
				w.abandon(batch[i:])
				return
			}
			if err != nil {
				w.s.log.Debug("direct message not sent", "peer", w.p, "channel", f.ch, "err", err)
			}
			sent[f.ch]++
		}
		w.report(sent)
		if closing && len(batch) == 0 {
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

// lingerTimeout bounds how long a close waits for the peer to read what
// we sent.
const lingerTimeout = time.Second

// linger half-closes the stream and waits, briefly, until the peer has read
// everything and closed its side too. Closing the connection at once could
// lose the frames still in flight — among them the Disconnect that tells
// the peer why.
func (w *writer) linger() {
	if err := w.stream.CloseWrite(); err == nil {
		w.stream.SetReadDeadline(time.Now().Add(lingerTimeout))
		io.Copy(io.Discard, io.LimitReader(w.stream, 1<<16))
	}
	w.stream.Close()
}

// abandon gives up on a peer that stopped reading: what is left is
// reported as finished, and the connection is closed and reported gone,
// whether or not the state machine had asked for it.
func (w *writer) abandon(left []frame) {
	w.s.log.Info("closing a peer that stopped reading", "peer", w.p)
	w.mu.Lock()
	w.done = true
	left = append(append(left, w.prio...), w.bulk...)
	w.prio, w.bulk = nil, nil
	w.mu.Unlock()
	w.resetStream()
	w.giveUp(left)
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
		w.stream, w.bw = st, bufio.NewWriterSize(st, 64<<10)
		w.mu.Lock()
		w.open = st
		w.mu.Unlock()
	}
	// Under mu, so that a close cannot set its shorter deadline between
	// our reading closeBy and setting ours.
	w.mu.Lock()
	deadline := w.closeBy
	if deadline.IsZero() {
		deadline = time.Now().Add(writeTimeout)
	}
	w.stream.SetWriteDeadline(deadline)
	w.mu.Unlock()
	var head [maxHeader]byte
	head[0] = byte(f.ch)
	n := 1 + binary.PutUvarint(head[1:], uint64(len(f.data)))
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

func (w *writer) resetStream() {
	if w.stream != nil {
		w.stream.Reset()
	}
	w.stream, w.bw = nil, nil
	w.mu.Lock()
	w.open = nil
	w.mu.Unlock()
}

// giveUp reports frames that will never be written as finished, so their
// places in the state machine's queue are released.
func (w *writer) giveUp(frames []frame) {
	var sent [state.NumChannels]uint32
	for _, f := range frames {
		sent[f.ch]++
	}
	w.report(sent)
}

func (w *writer) report(sent [state.NumChannels]uint32) {
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
func readPayload(r io.Reader, size uint64) ([]byte, error) {
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
			return nil, err
		}
	}
	return data, nil
}

// maxInboundStreams bounds the direct streams one peer may have open to
// us at once: one in use and one that replaces it after a reconnect.
const maxInboundStreams = 2

// handleStream reads frames from a peer's inbound stream.
func (s *Service) handleStream(st network.Stream) {
	p, conn := st.Conn().RemotePeer(), st.Conn()
	if !s.admitStream(p) {
		s.log.Debug("refusing an extra direct stream", "peer", p)
		st.Reset()
		return
	}
	defer s.releaseStream(p)
	id := state.PeerID(p.String())
	br := bufio.NewReaderSize(st, 64<<10)
	reject := func(ch state.Channel, size uint64, why string) {
		s.emitMessage(p, conn, action.FrameRejected{Peer: id, Channel: ch, Size: size, Reason: why})
		st.Reset()
	}
	for {
		c, err := br.ReadByte()
		if err != nil {
			st.Close()
			return
		}
		ch := state.Channel(c)
		size, err := binary.ReadUvarint(br)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				reject(ch, 0, "frame header cut short")
			} else {
				reject(ch, 0, "malformed frame length")
			}
			return
		}
		if !ch.Valid() {
			reject(ch, size, fmt.Sprintf("frame on unknown channel %d", c))
			return
		}
		if limit := s.cfg.Channels[ch].MaxSize; size > uint64(limit) {
			reject(ch, size, fmt.Sprintf("frame of %d bytes exceeds the %s limit of %d", size, ch, limit))
			return
		}
		data, err := readPayload(br, size)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				reject(ch, size, "frame cut short")
			} else {
				st.Reset()
			}
			return
		}
		if !s.emitMessage(p, conn, action.MessageReceived{Peer: id, Channel: ch, Data: data}) {
			st.Reset()
			return
		}
	}
}

func (s *Service) admitStream(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inbound[p] >= maxInboundStreams {
		return false
	}
	s.inbound[p]++
	return true
}

func (s *Service) releaseStream(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inbound[p]--; s.inbound[p] <= 0 {
		delete(s.inbound, p)
	}
}
