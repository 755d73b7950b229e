package libp2p

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"log/slog"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Topic names a broadcast channel's GossipSub topic:
// /p2pcore/<network>/<channel name>/<channel version>.
func Topic(network, name string, version uint32) string {
	return "/p2pcore/" + network + "/" + name + "/" + strconv.FormatUint(uint64(version), 10)
}

// topicOf is the topic of our channel ch.
func (s *Service) topicOf(ch state.Channel) string {
	c := &s.cfg.Rules.Channels[ch]
	return Topic(s.cfg.Network, c.Name, c.Version)
}

// startPubSub creates the GossipSub router and joins and subscribes every
// broadcast channel.
//
// GossipSub pushes outgoing RPCs into a bounded per-peer queue without
// waiting and drops them when it is full (32 by default): a fast publisher
// loses messages silently. We give it a larger queue and watch it — the
// tracer sees every RPC queued, a wrapper around the host sees every RPC
// written — and the publisher waits while any peer's queue is
// three-quarters full. The receiving side gets large validation and
// subscription buffers, and a tracer hook counts anything it still drops.
func (s *Service) startPubSub() error {
	topics := make([]string, 0, len(s.gossip.topics))
	for t := range s.gossip.topics {
		topics = append(topics, t)
	}
	ps, err := pubsub.NewGossipSub(s.ctx, &flowHost{Host: s.h, flow: s.flow},
		append(PubSubOptions(s.cfg.PubSubQueue, s.cfg.Rules.MaxMessageSize),
			pubsub.WithRawTracer(s.flow),
			// Only this network's topics are kept: a peer's subscriptions
			// to anything else are dropped as they arrive, so 100,000 junk
			// topics hold nothing. (The inspector refuses an RPC with more
			// than Rules.MaxSubscriptionsPerRPC, and the peer is scored.)
			pubsub.WithSubscriptionFilter(pubsub.NewAllowlistSubscriptionFilter(topics...)),
			pubsub.WithAppSpecificRpcInspector(s.gossip.inspect),
		)...)
	if err != nil {
		return err
	}
	s.ps = ps
	for i := range s.cfg.Rules.Channels {
		ch := state.Channel(i)
		if !s.cfg.Rules.Channels[ch].IsBroadcast() {
			continue
		}
		topic := s.topicOf(ch)
		if err := ps.RegisterTopicValidator(topic, s.gossip.validator(ch), ValidatorOptions()...); err != nil {
			return err
		}
		t, err := ps.Join(topic)
		if err != nil {
			return err
		}
		sub, err := t.Subscribe(SubscribeOptions(s.cfg.PubSubQueue)...)
		if err != nil {
			return err
		}
		s.topics[ch], s.subs[ch] = t, sub
		s.wg.Add(1)
		go s.readTopic(ch, sub)
	}
	return nil
}

// readTopic drains a subscription. Broadcasts reach the application
// through the state machine, at validation (Deliver); the subscription is
// what makes GossipSub send us the topic at all.
func (s *Service) readTopic(_ state.Channel, sub *pubsub.Subscription) {
	defer s.wg.Done()
	for {
		if _, err := sub.Next(s.ctx); err != nil {
			return
		}
	}
}

// publisher publishes broadcasts from one goroutine, those of priority
// channels before bulk ones and each class in order, and reports them as
// Published in batches. A priority broadcast queued behind bulk ones
// waits for at most bulkBatch bytes of them here; what it cannot overtake
// is what GossipSub already holds, which flow control keeps short.
type publisher struct {
	s    *Service
	mu   sync.Mutex
	cond *sync.Cond
	q    outQueue
	done bool
}

func newPublisher(s *Service) *publisher {
	p := &publisher{s: s}
	p.cond = sync.NewCond(&p.mu)
	s.wg.Add(1)
	go p.run()
	return p
}

func (p *publisher) enqueue(ch state.Channel, data []byte) {
	p.mu.Lock()
	p.q.push(frame{ch: ch, data: data, priority: p.s.cfg.Rules.Channels[ch].Priority, queued: time.Now()})
	p.cond.Signal()
	p.mu.Unlock()
}

func (p *publisher) stop() {
	p.mu.Lock()
	p.done = true
	p.cond.Signal()
	p.mu.Unlock()
	p.s.flow.release()
}

func (p *publisher) run() {
	defer p.s.wg.Done()
	s := p.s
	for {
		p.mu.Lock()
		for p.q.len() == 0 && !p.done {
			p.cond.Wait()
		}
		batch, done := p.q.next(), p.done
		p.mu.Unlock()
		if done {
			return
		}
		batch, stale := expired(batch, time.Now(), func(f frame) time.Duration { return s.cfg.Rules.Channels[f.ch].MaxAge })
		var published, failed, old [state.MaxChannels]uint32
		var why [state.MaxChannels]string
		for _, f := range stale {
			old[f.ch]++
		}
		p.reportExpired(&old)
		for i, f := range batch {
			s.flow.wait(s.ctx)
			err := s.ctx.Err()
			if t := s.topics[f.ch]; t == nil && err == nil {
				err = fmt.Errorf("%s is not a broadcast channel of this node", f.ch)
			} else if err == nil {
				err = t.Publish(s.ctx, f.data)
			}
			if err != nil {
				failed[f.ch]++
				why[f.ch] = service.ErrorText(err)
				s.log.Warn("broadcast not published", "channel", f.ch, "bytes", len(f.data), "err", err)
			} else {
				published[f.ch]++
			}
			// Report in batches, but not so large that the state machine
			// sits on a full queue while we work through it.
			if (i+1)%64 == 0 || i == len(batch)-1 {
				p.report(&published, &failed, &why)
			}
		}
	}
}

// reportExpired reports broadcasts dropped for their channel's MaxAge.
func (p *publisher) reportExpired(n *[state.MaxChannels]uint32) {
	p.s.emitMu.Lock()
	defer p.s.emitMu.Unlock()
	for ch, count := range n {
		if count > 0 {
			p.s.emit(action.Expired{Channel: state.Channel(ch), Count: count})
		}
	}
}

func (p *publisher) report(published, failed *[state.MaxChannels]uint32, why *[state.MaxChannels]string) {
	p.s.emitMu.Lock()
	defer p.s.emitMu.Unlock()
	for ch := range published {
		if n := published[ch]; n > 0 {
			p.s.emit(action.Published{Channel: state.Channel(ch), Count: n})
			published[ch] = 0
		}
		if n := failed[ch]; n > 0 {
			p.s.emit(action.PublishFailed{Channel: state.Channel(ch), Count: n, Error: why[ch]})
			failed[ch] = 0
		}
	}
}

// flowControl tracks how many RPCs wait in GossipSub's queue for each peer
// (queued by the router, seen by the tracer; written, seen by flowStream)
// and holds the publisher back while any queue is above the limit. It
// decides nothing about the peer: a full queue that does not move is
// reported by the stall watch (WriteStalled), and the state machine drops
// the peer, which empties its queue.
type flowControl struct {
	pubsub.RawTracer // the callbacks we do not need are no-ops
	log              *slog.Logger
	limit            int
	gossip           *gossip // told of every broadcast's last word

	mu       sync.Mutex
	cond     *sync.Cond
	queued   map[peer.ID]int
	moved    map[peer.ID]time.Time // when p's queue last grew from empty or shrank
	stalled  map[peer.ID]bool      // reported as stalled, until it moves again
	released bool

	dropped       atomic.Uint64
	undeliverable atomic.Uint64
	rejected      atomic.Uint64
}

func newFlowControl(limit int, log *slog.Logger, g *gossip) *flowControl {
	f := &flowControl{RawTracer: noopTracer{}, limit: max(limit, 1), log: log, gossip: g,
		queued: map[peer.ID]int{}, moved: map[peer.ID]time.Time{}, stalled: map[peer.ID]bool{}}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// wait blocks while some peer's queue is above the limit.
func (f *flowControl) wait(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for !f.released && ctx.Err() == nil && f.full() {
		f.cond.Wait()
	}
}

func (f *flowControl) full() bool {
	for _, n := range f.queued {
		if n >= f.limit {
			return true
		}
	}
	return false
}

// stalls returns the peers whose full queue has not moved for after, each
// once per stall, with how many RPCs they hold.
func (f *flowControl) stalls(after time.Duration, now time.Time) map[peer.ID]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out map[peer.ID]int
	for p, n := range f.queued {
		if n < f.limit || f.stalled[p] || now.Sub(f.moved[p]) < after {
			continue
		}
		f.stalled[p] = true
		if out == nil {
			out = map[peer.ID]int{}
		}
		out[p] = n
	}
	return out
}

func (f *flowControl) release() {
	f.mu.Lock()
	f.released = true
	f.cond.Broadcast()
	f.mu.Unlock()
}

// SendRPC: the router queued an RPC for p.
func (f *flowControl) SendRPC(_ *pubsub.RPC, p peer.ID) {
	f.mu.Lock()
	if f.queued[p] == 0 {
		f.moved[p] = time.Now()
	}
	f.queued[p]++
	f.mu.Unlock()
}

// written: an RPC for p left the queue and was written.
func (f *flowControl) written(p peer.ID) {
	f.mu.Lock()
	if n := f.queued[p]; n > 0 {
		f.queued[p] = n - 1
		f.moved[p] = time.Now()
		delete(f.stalled, p)
		if n == f.limit {
			f.cond.Broadcast()
		}
	}
	f.mu.Unlock()
}

// forget drops p's queue: its stream closed or the peer left.
func (f *flowControl) forget(p peer.ID) {
	f.mu.Lock()
	delete(f.queued, p)
	delete(f.moved, p)
	delete(f.stalled, p)
	f.cond.Broadcast()
	f.mu.Unlock()
}

// OnClosedOutboundStream: the peer's queue is gone.
func (f *flowControl) OnClosedOutboundStream(p peer.ID) { f.forget(p) }

// RemovePeer: the peer left GossipSub, and its queue with it.
func (f *flowControl) RemovePeer(p peer.ID) { f.forget(p) }

// DropRPC: the router dropped an RPC for p. With the flow control this
// should not happen to our broadcasts; it is counted and logged, never
// silent.
func (f *flowControl) DropRPC(rpc *pubsub.RPC, p peer.ID) {
	if n := len(rpc.GetPublish()); n > 0 {
		f.dropped.Add(uint64(n))
		f.log.Warn("gossipsub dropped messages for a peer", "peer", p, "messages", n)
	}
}

// UndeliverableMessage: our subscription fell behind and GossipSub
// dropped a message for it.
func (f *flowControl) UndeliverableMessage(msg *pubsub.Message) {
	f.undeliverable.Add(1)
	f.log.Warn("gossipsub could not deliver a message to us: subscription too slow", "topic", msg.GetTopic())
}

// RejectMessage: GossipSub refused a received message. A full validation
// queue or a throttled validator means we were too slow and lost a
// message — counted and logged; other reasons (our size validator, a bad
// signature, a blacklisted sender) are the sender's fault and reported
// by the validator or scored by GossipSub.
func (f *flowControl) RejectMessage(msg *pubsub.Message, reason string) {
	f.gossip.rejected(msg, reason)
	switch reason {
	case pubsub.RejectValidationQueueFull, pubsub.RejectValidationThrottled:
		f.rejected.Add(1)
		f.log.Warn("gossipsub dropped a received message: validation fell behind", "topic", msg.GetTopic(), "reason", reason)
	}
}

// DuplicateMessage: a broadcast we had already seen.
func (f *flowControl) DuplicateMessage(msg *pubsub.Message) { f.gossip.duplicate(msg) }

// DeliverMessage: a broadcast accepted and delivered.
func (f *flowControl) DeliverMessage(msg *pubsub.Message) { f.gossip.delivered(msg) }

// flowHost is the host GossipSub sees: its outbound streams report each
// write to the flow control, and its inbound streams are not read while
// their peer is throttled (the transport's flow control then holds the
// peer back, and nothing it sends is read, parsed or kept).
type flowHost struct {
	host.Host
	flow *flowControl
}

// NewStream opens GossipSub's outbound stream, counting its writes.
func (h *flowHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	st, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return &flowStream{Stream: st, p: p, flow: h.flow}, nil
}

// SetStreamHandler registers GossipSub's handler behind the throttle.
func (h *flowHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, h.gated(handler))
}

// SetStreamHandlerMatch registers GossipSub's handler behind the throttle.
func (h *flowHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, h.gated(handler))
}

func (h *flowHost) gated(handler network.StreamHandler) network.StreamHandler {
	return func(st network.Stream) {
		handler(&gatedStream{Stream: st, g: h.flow.gossip, p: st.Conn().RemotePeer()})
	}
}

// gatedStream is GossipSub's inbound stream as it reads it: a varint
// length, then an RPC of that length, again and again. It waits, before
// each RPC, while its peer is throttled, and before it lets GossipSub learn
// the length of a large RPC — and allocate a buffer for it — until that
// many bytes fit the budget of bytes held for validation
// (Rules.MaxPendingBytes). However many peers send large RPCs at once, the
// node reads only as many as it has room for; the rest wait in the
// transport, and their senders with them.
type gatedStream struct {
	network.Stream
	g *gossip
	p peer.ID

	header    []byte // the length's bytes so far
	remaining int    // bytes of the RPC still to read
	held      int    // bytes of the budget this RPC holds while it is read
}

// largeRPC is the size from which an RPC takes its room in the budget
// before it is read; smaller ones are bounded by GossipSub's queues.
const largeRPC = 64 << 10

func (s *gatedStream) Read(b []byte) (int, error) {
	if s.remaining == 0 {
		return s.readHeader(b)
	}
	n, err := s.Stream.Read(b[:min(len(b), s.remaining)])
	s.remaining -= n
	if s.remaining == 0 || err != nil {
		s.g.release(s.held)
		s.held = 0
	}
	return n, err
}

// readHeader reads the length one byte at a time (as GossipSub does
// anyway), so that the byte that completes it can be held back until the
// RPC has room.
func (s *gatedStream) readHeader(b []byte) (int, error) {
	if len(s.header) == 0 {
		if wait := s.g.unthrottled(s.p); wait != nil {
			select {
			case <-wait:
			case <-s.g.s.ctx.Done():
			}
		}
	}
	if len(b) == 0 {
		return 0, nil
	}
	n, err := s.Stream.Read(b[:1])
	if n == 0 {
		return n, err
	}
	s.header = append(s.header, b[0])
	if b[0] >= 0x80 && len(s.header) < binary.MaxVarintLen64 {
		return n, err
	}
	length, _ := binary.Uvarint(s.header)
	s.header = s.header[:0]
	s.remaining = int(min(length, 1<<31))
	if s.remaining >= largeRPC {
		// GossipSub's buffer pool hands out the next power of two.
		s.held = s.g.acquire(1 << bits.Len(uint(s.remaining-1)))
	}
	return n, err
}

// flowStream counts GossipSub's writes: it writes each RPC with one Write.
type flowStream struct {
	network.Stream
	p    peer.ID
	flow *flowControl
}

func (s *flowStream) Write(b []byte) (int, error) {
	n, err := s.Stream.Write(b)
	s.flow.written(s.p)
	return n, err
}

// noopTracer implements the RawTracer callbacks flowControl ignores.
type noopTracer struct{}

func (noopTracer) AddPeer(peer.ID, protocol.ID)             {}
func (noopTracer) RemovePeer(peer.ID)                       {}
func (noopTracer) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (noopTracer) OnClosedOutboundStream(peer.ID)           {}
func (noopTracer) Join(string)                              {}
func (noopTracer) Leave(string)                             {}
func (noopTracer) Graft(peer.ID, string)                    {}
func (noopTracer) Prune(peer.ID, string)                    {}
func (noopTracer) ValidateMessage(*pubsub.Message)          {}
func (noopTracer) DeliverMessage(*pubsub.Message)           {}
func (noopTracer) RejectMessage(*pubsub.Message, string)    {}
func (noopTracer) DuplicateMessage(*pubsub.Message)         {}
func (noopTracer) ThrottlePeer(peer.ID)                     {}
func (noopTracer) RecvRPC(*pubsub.RPC)                      {}
func (noopTracer) SendRPC(*pubsub.RPC, peer.ID)             {}
func (noopTracer) DropRPC(*pubsub.RPC, peer.ID)             {}
func (noopTracer) UndeliverableMessage(*pubsub.Message)     {}
