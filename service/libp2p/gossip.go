package libp2p

import (
	"context"
	"errors"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Gossip goes through the state machine. GossipSub calls our validator for
// every broadcast a peer relays, after the signature check and the
// duplicate filter; the validator reports it (GossipReceived) and waits
// for the state machine's verdict (the Verdict command), so that nothing
// is delivered or relayed that the reducers did not accept.
//
// What GossipSub refuses before asking — bad signatures, duplicates — is
// counted per peer by a tracer and reported every statsEvery as
// GossipStats. A peer the state machine throttled is not read at all (see
// gatedStream); what it had in flight is dropped, counted, by an RPC
// inspector that runs before GossipSub queues a broadcast for validation.
// The inspector also drops anything that would take the bytes held in the
// validation pipeline past Rules.MaxPendingBytes: a safety net that keeps
// memory bounded however many peers send, like the resource manager's,
// with its number from the state machine's configuration.

// statsEvery is how often counts are reported: batching, not policy.
const statsEvery = 200 * time.Millisecond

// gossip is the service's side of the gossip rule.
type gossip struct {
	s *Service

	mu        sync.Mutex
	throttled map[peer.ID]chan struct{} // closed when the peer is unthrottled
	// pipeline holds the size of every broadcast between the inspector and
	// its last word from GossipSub (rejected, duplicate or delivered).
	// held counts those bytes and those of large RPCs being read, against
	// Rules.MaxPendingBytes; room wakes readers waiting for it.
	pipeline map[*pb.Message]tracked
	held     int
	room     *sync.Cond
	stats    map[peer.ID]*action.GossipStats
	offered  map[offerKey]*action.GossipOffered
	// waiting are broadcasts our validator has reported, by number, until
	// their verdict; held, those an application validator accepted, until
	// the state machine delivers them.
	waiting map[uint64]*waitingMsg
	topics  map[string]state.Channel
	// junk counts each peer's subscriptions to topics that are not ours:
	// GossipSub keeps none of them, but a peer that sends more than ten
	// RPCs' worth is reported as oversized, once.
	junk map[peer.ID]int
}

type offerKey struct {
	p  peer.ID
	ch state.Channel
}

type tracked struct {
	size int
	at   time.Time
}

type waitingMsg struct {
	verdict chan state.Verdict
	from    peer.ID
	ch      state.Channel
	data    []byte
}

func newGossip(s *Service) *gossip {
	g := &gossip{s: s,
		throttled: map[peer.ID]chan struct{}{},
		pipeline:  map[*pb.Message]tracked{},
		stats:     map[peer.ID]*action.GossipStats{},
		offered:   map[offerKey]*action.GossipOffered{},
		waiting:   map[uint64]*waitingMsg{},
		topics:    map[string]state.Channel{},
		junk:      map[peer.ID]int{},
	}
	g.room = sync.NewCond(&g.mu)
	for i := range s.cfg.Rules.Channels {
		if ch := state.Channel(i); s.cfg.Rules.Channels[ch].IsBroadcast() {
			g.topics[s.topicOf(ch)] = ch
		}
	}
	return g
}

func (g *gossip) statsFor(p peer.ID) *action.GossipStats {
	st := g.stats[p]
	if st == nil {
		st = &action.GossipStats{Peer: state.PeerID(p.String())}
		g.stats[p] = st
	}
	return st
}

// errTooManySubscriptions drops an RPC whose subscriptions go past the
// limit.
var errTooManySubscriptions = errors.New("too many subscriptions in one RPC")

// inspect sees every RPC before GossipSub handles it (on GossipSub's event
// loop: it must not block). It drops the broadcasts of a throttled peer
// and those the validation pipeline has no room for, and refuses an RPC
// with too many subscriptions.
func (g *gossip) inspect(from peer.ID, rpc *pubsub.RPC) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	limit := g.s.cfg.Rules.MaxSubscriptionsPerRPC
	if len(rpc.Subscriptions) > limit {
		g.statsFor(from).Oversized++
		return errTooManySubscriptions
	}
	if before := g.junk[from]; before <= 10*limit {
		for _, sub := range rpc.Subscriptions {
			if _, ours := g.topics[sub.GetTopicid()]; !ours {
				g.junk[from]++
			}
		}
		if g.junk[from] > 10*limit {
			g.statsFor(from).Oversized++
		}
	}
	if len(rpc.Publish) == 0 {
		return nil
	}
	_, throttled := g.throttled[from]
	kept := rpc.Publish[:0]
	for _, m := range rpc.Publish {
		ch, ours := g.topics[m.GetTopic()]
		if !ours {
			kept = append(kept, m) // GossipSub ignores topics we did not join
			continue
		}
		size := len(m.Data)
		// Everything offered is counted, for the state machine to charge
		// to the sender's budget: its own (it claims to be the author;
		// the signature check will tell) or relayed for another.
		k := offerKey{from, ch}
		o := g.offered[k]
		if o == nil {
			o = &action.GossipOffered{Peer: state.PeerID(from.String()), Channel: ch}
			g.offered[k] = o
		}
		if peer.ID(m.From) == from {
			o.Own++
			o.OwnBytes += uint64(size)
		} else {
			o.Relayed++
			o.RelayedBytes += uint64(size)
		}
		if throttled || (size >= largeRPC && g.held+size > g.s.cfg.Rules.MaxPendingBytes) {
			st := g.statsFor(from)
			st.Dropped++
			st.DroppedBytes += uint64(size)
			continue
		}
		g.pipeline[m] = tracked{size: size, at: time.Now()}
		g.held += size
		kept = append(kept, m)
	}
	clear(rpc.Publish[len(kept):])
	rpc.Publish = kept
	return nil
}

// done is GossipSub's last word on a broadcast: it leaves the pipeline.
func (g *gossip) done(m *pb.Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.pipeline[m]; ok {
		delete(g.pipeline, m)
		g.held -= t.size
		g.room.Broadcast()
	}
}

// acquire waits until n bytes fit the budget (or nothing is held, for an
// RPC larger than the whole budget) and takes them; it returns what it
// took. It gives up, taking nothing, when the service stops.
func (g *gossip) acquire(n int) int {
	limit := g.s.cfg.Rules.MaxPendingBytes
	n = min(n, limit)
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.held > 0 && g.held+n > limit {
		if g.s.ctx.Err() != nil {
			return 0
		}
		g.room.Wait()
	}
	g.held += n
	return n
}

// release gives back what acquire took.
func (g *gossip) release(n int) {
	if n == 0 {
		return
	}
	g.mu.Lock()
	g.held -= n
	g.room.Broadcast()
	g.mu.Unlock()
}

// The tracer callbacks that matter to the gossip rule; flowControl
// forwards them here.

func (g *gossip) rejected(msg *pubsub.Message, reason string) {
	g.done(msg.Message)
	switch reason {
	case pubsub.RejectInvalidSignature, pubsub.RejectMissingSignature,
		pubsub.RejectUnexpectedSignature, pubsub.RejectUnexpectedAuthInfo:
		g.s.log.Debug("gossipsub refused a broadcast", "peer", msg.ReceivedFrom, "reason", reason)
		g.mu.Lock()
		g.statsFor(msg.ReceivedFrom).Invalid++
		g.mu.Unlock()
	}
}

func (g *gossip) duplicate(msg *pubsub.Message) {
	g.done(msg.Message)
	g.mu.Lock()
	st := g.statsFor(msg.ReceivedFrom)
	st.Duplicates++
	st.DuplicateBytes += uint64(len(msg.Data))
	g.mu.Unlock()
}

func (g *gossip) delivered(msg *pubsub.Message) { g.done(msg.Message) }

// flush reports the counts gathered since the last flush, and forgets
// pipeline entries GossipSub dropped without a word (none should be).
func (g *gossip) flush(now time.Time) {
	g.mu.Lock()
	var out []action.Action
	for k, o := range g.offered {
		out = append(out, *o)
		delete(g.offered, k)
	}
	for p, st := range g.stats {
		if *st != (action.GossipStats{Peer: st.Peer}) {
			out = append(out, *st)
		}
		delete(g.stats, p)
	}
	for m, t := range g.pipeline {
		if now.Sub(t.at) > time.Minute {
			delete(g.pipeline, m)
			g.held -= t.size
			g.room.Broadcast()
		}
	}
	g.mu.Unlock()
	if len(out) == 0 {
		return
	}
	g.s.emitMu.Lock()
	defer g.s.emitMu.Unlock()
	for _, a := range out {
		g.s.emit(a)
	}
}

// validator asks the state machine about every broadcast a peer relays.
// It runs asynchronously (GossipSub's validation throttle bounds how many
// wait at once) and returns the state machine's verdict.
func (g *gossip) validator(ch state.Channel) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if msg.Local || from == g.s.h.ID() {
			return pubsub.ValidationAccept // our own publication
		}
		num := g.s.gossipSeq.Add(1)
		w := &waitingMsg{verdict: make(chan state.Verdict, 1), from: from, ch: ch, data: msg.Data}
		g.mu.Lock()
		g.waiting[num] = w
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			delete(g.waiting, num)
			g.mu.Unlock()
		}()
		var conn network.Conn
		if conns := g.s.h.Network().ConnsToPeer(from); len(conns) > 0 {
			conn = conns[0]
		}
		var author state.PeerID
		if a := msg.GetFrom(); a.Validate() == nil {
			author = state.PeerID(a.String())
		}
		g.s.emitMessage(from, conn, action.GossipReceived{Peer: state.PeerID(from.String()), Author: author,
			Channel: ch, Msg: num, Data: msg.Data})
		select {
		case v := <-w.verdict:
			switch v {
			case state.VerdictAccept:
				return pubsub.ValidationAccept
			case state.VerdictReject:
				return pubsub.ValidationReject
			}
			return pubsub.ValidationIgnore
		case <-ctx.Done():
		case <-g.s.ctx.Done():
		}
		return pubsub.ValidationIgnore
	}
}

// Verdict answers GossipSub about a broadcast.
func (s *Service) Verdict(msg uint64, v state.Verdict) {
	s.gossip.mu.Lock()
	w := s.gossip.waiting[msg]
	s.gossip.mu.Unlock()
	if w != nil {
		select {
		case w.verdict <- v:
		default:
		}
	}
}

// Validate runs the application's validator of a channel on a broadcast in
// its own goroutine and reports the verdict as GossipValidated. A panic in
// the validator is its verdict: reject is not the peer's fault, so ignore.
func (s *Service) Validate(c service.Validate) {
	s.gossip.mu.Lock()
	w := s.gossip.waiting[c.Msg]
	s.gossip.mu.Unlock()
	validate := s.cfg.Validators[c.Channel]
	if w == nil {
		return // GossipSub gave up waiting
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		v := state.VerdictAccept
		if validate != nil {
			v = runValidator(validate, c.Peer, c.Channel, w.data)
		}
		s.emitMu.Lock()
		defer s.emitMu.Unlock()
		s.emit(action.GossipValidated{Msg: c.Msg, Verdict: v})
	}()
}

func runValidator(v Validator, p state.PeerID, ch state.Channel, data []byte) (verdict state.Verdict) {
	defer func() {
		if recover() != nil {
			verdict = state.VerdictIgnore
		}
	}()
	verdict = v(p, ch, data)
	if !verdict.Valid() {
		verdict = state.VerdictIgnore
	}
	return verdict
}

// DeliverHeld hands the application a broadcast its validator accepted.
func (s *Service) DeliverHeld(msg uint64) {
	s.gossip.mu.Lock()
	w := s.gossip.waiting[msg]
	s.gossip.mu.Unlock()
	if w != nil && s.cfg.Deliver != nil {
		s.cfg.Deliver(state.PeerID(w.from.String()), w.ch, w.data)
	}
}

// Throttle stops (on) or resumes taking a peer's traffic: its direct
// frames wait unread, its broadcasts are dropped unread and counted.
func (s *Service) Throttle(id state.PeerID, on bool) {
	p, err := exactID(id)
	if err != nil {
		return
	}
	s.gossip.throttle(p, on)
}

// forget drops what the gossip rule keeps about a peer that left.
func (g *gossip) forget(p peer.ID) {
	g.throttle(p, false)
	g.mu.Lock()
	delete(g.junk, p)
	g.mu.Unlock()
}

func (g *gossip) throttle(p peer.ID, on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	wait, throttled := g.throttled[p]
	switch {
	case on && !throttled:
		g.throttled[p] = make(chan struct{})
	case !on && throttled:
		close(wait)
		delete(g.throttled, p)
	}
}

// unthrottled returns nil if the peer is not throttled, or a channel
// closed when it is no longer.
func (g *gossip) unthrottled(p peer.ID) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.throttled[p]
}
