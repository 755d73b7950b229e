package simnet

import (
	"slices"
	"strings"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Endpoint is one node's attachment to the network; it implements
// service.Service for that node's store.
//
// The fields a delivered broadcast reads come first, together: a large
// simulation's nodes do not fit the cache, and each further cache line of
// an endpoint read is a miss on the path of every delivery.
type Endpoint struct {
	net *Network
	// Input actions go to target, if set, else to dispatch.
	target   Target
	dispatch Dispatcher
	// OnDeliver, if set, sees every message handed to the application.
	OnDeliver func(from state.PeerID, ch state.Channel, data []byte)
	// current is the broadcast the node is being handed (GossipReceived):
	// its verdict, or its validation, comes before the handing returns.
	// validating holds those its validator is looking at, until their
	// verdict; anyValidating is set while it holds any. (A map of every
	// broadcast in hand cost an insertion and a deletion per delivery.)
	current       heldMsg
	idx           int32 // the node's index in the network's list
	down          bool  // crashed: no events, no connections
	silent        bool  // frozen: connections stay open, nothing in or out
	anyValidating bool
	g             gossipNode
	validating    map[uint64]heldMsg

	// ID and Addr must not change once the endpoint is added.
	ID   state.PeerID
	Addr state.Addr

	links map[state.PeerID]*link
	// peers are the endpoints at the other end of links, with the links,
	// by ID; linkTo finds their links without hashing an ID.
	peers  []peerLink
	linkTo map[*Endpoint]*link
	dials  map[state.PeerID]*dial

	// Completions waiting to be reported as Sent and Published.
	sent      map[sentKey]uint32
	published [state.MaxChannels]uint32
	flushing  bool

	// Validator, if set, is the application's validator of broadcast
	// channels with Validated set; without one every message is accepted.
	Validator func(from state.PeerID, ch state.Channel, data []byte) state.Verdict
	// Handler, if set, answers the peers' requests; without one they are
	// refused. OnComplete, if set, sees how each of our requests ended.
	Handler    Handler
	OnComplete func(service.Complete)
	// Saved is the last peer store the node asked to persist.
	Saved *state.PeerStore
	// Sessions, if set, runs the node's session callbacks (session.go).
	Sessions service.SessionApp
	sess     *sessionTable
	// OnFound, if set, sees the answers to the node's own lookups
	// (FindPeers).
	OnFound func(service.FoundPeers)
}

var _ service.Service = (*Endpoint)(nil)

type heldMsg struct {
	from *Endpoint
	*gossipMsg
}

type sentKey struct {
	peer   state.PeerID
	ch     state.Channel
	failed bool
}

// link is one connection between two endpoints. Each side has its own view:
// a side stops being alive when it closes, or when it learns the other side
// closed. Messages travel in order in each direction.
type link struct {
	ends  [2]*Endpoint
	node  [2]int32 // the ends' indices in the network's list
	alive [2]bool
	// stalled is set for the side that a message to it was lost for
	// good (MaxRetransmits): nothing more reaches it on this connection,
	// which its sender closes once the retransmissions run out (giveUp).
	stalled [2]bool
	last    [2]int64 // arrival time of the last message to each side
	// held is what waits, for each side, behind a message that could not
	// cross a partition or one-way cut (see hold); nil until something
	// first does.
	held *heldMessages
	_    [8]byte // to 64 bytes: a link is one cache line of its slab
}

// heldMessages are a connection's messages to each side that wait behind
// one that a cut keeps from crossing: the first is being retransmitted,
// the rest were sent after it.
type heldMessages [2][]func(to *Endpoint)

func (l *link) side(ep *Endpoint) int {
	if l.ends[0] == ep {
		return 0
	}
	return 1
}

type dial struct {
	target    state.PeerID
	addrs     []state.Addr
	cancelled bool
	// resent is set once the loss rate has delayed the dial: its
	// retransmissions are drawn, it is not drawn again.
	resent bool
}

// Add attaches a node that listens at addr. Its input actions go to
// dispatch, which may be set later with SetDispatcher.
func (n *Network) Add(id state.PeerID, addr state.Addr, dispatch Dispatcher) *Endpoint {
	ep := &Endpoint{
		net: n, ID: id, Addr: addr, dispatch: dispatch,
		links: map[state.PeerID]*link{}, dials: map[state.PeerID]*dial{},
		linkTo: map[*Endpoint]*link{}, g: newGossipNode(), sent: map[sentKey]uint32{},
		idx: int32(len(n.nodes)),
	}
	n.nodes = append(n.nodes, ep)
	n.quiet = append(n.quiet, false)
	n.changed()
	n.slow = append(n.slow, 0)
	n.peerID = append(n.peerID, id)
	n.sharedIDs = n.sharedIDs || n.ids[id]
	n.ids[id] = true
	if addr != "" {
		n.byAddr[addr] = ep
	}
	// Heartbeats are spread over the period, as nodes' start times are.
	var beat func()
	beat = func() {
		ep.heartbeat()
		n.After(n.gossip.Heartbeat, beat)
	}
	n.At(n.now+n.rng.Int63n(int64(n.gossip.Heartbeat)), beat)
	return ep
}

// link records a new connection to other.
func (ep *Endpoint) link(other *Endpoint, l *link) {
	ep.links[other.ID] = l
	if old := ep.linkTo[other]; old != nil {
		// A new connection before we learnt the old one closed: the
		// entries for other now stand for the new one.
		ep.eachEntry(func(e *peerLink) {
			if e.ep == other {
				*e = ep.entry(other, l)
			}
		})
	}
	ep.net.changed()
	ep.linkTo[other] = l
	i, _ := slices.BinarySearchFunc(ep.peers, other.ID, func(p peerLink, id state.PeerID) int {
		return strings.Compare(string(p.ep.ID), string(id))
	})
	ep.peers = slices.Insert(ep.peers, i, ep.entry(other, l))
}

// unlink forgets the connection to other.
func (ep *Endpoint) unlink(other *Endpoint) {
	ep.net.changed()
	delete(ep.links, other.ID)
	delete(ep.linkTo, other)
	ep.peers = slices.DeleteFunc(ep.peers, func(p peerLink) bool { return p.ep == other })
	ep.leaveMeshes(other)
}

// SetDispatcher sets where the node's input actions go (in place of a
// Target).
func (ep *Endpoint) SetDispatcher(d Dispatcher) { ep.target, ep.dispatch = nil, d }

// SetTarget makes the node's input actions go straight into t, a node's
// store (in place of a Dispatcher): a call through a closure reads the
// closure and what it holds, one more cache miss or two on every input
// of a large simulation.
func (ep *Endpoint) SetTarget(t Target) { ep.target, ep.dispatch = t, nil }

// Target returns what SetTarget set, nil if it was not called or a
// Dispatcher has replaced it.
func (ep *Endpoint) Target() Target { return ep.target }

// Input dispatches an action into the node now, unless it is down or
// silent. Simulations use it for ticks and API calls too.
func (ep *Endpoint) Input(a action.Action) {
	if ep.down || ep.silent {
		return
	}
	if ep.target != nil {
		ep.target.Dispatch(a)
	} else if ep.dispatch != nil {
		ep.dispatch(a)
	}
}

// Dial connects to a peer at one of addrs.
func (ep *Endpoint) Dial(peer state.PeerID, addrs []state.Addr) {
	n := ep.net
	d := &dial{target: peer, addrs: slices.Clone(addrs)}
	ep.dials[peer] = d
	n.At(n.now+n.latency(), func() { ep.arrive(d) })
}

// arrive is a dial reaching the other end.
func (ep *Endpoint) arrive(d *dial) {
	n := ep.net
	if d.cancelled || ep.down {
		return
	}
	var target *Endpoint
	for _, a := range d.addrs {
		if t, ok := n.byAddr[a]; ok {
			target = t
			break
		}
	}
	back := n.latency()
	fail := func(why string) {
		n.At(n.now+back, func() {
			if !d.cancelled && ep.dials[d.target] == d {
				delete(ep.dials, d.target)
				ep.Input(action.ConnectionFailed{Peer: d.target, Error: why})
			}
		})
	}
	switch {
	case target == nil || target.down:
		fail("connection refused")
		return
	case !n.reachable(ep, target) || target.silent:
		// Nothing answers: the dialler's own timeout decides.
		return
	case !d.resent:
		// A lost connection request is sent again, as TCP does: it
		// arrives late, or not before the dialler's timeout.
		wait, ok := n.retransmissions(SYNRetransmitTimeout)
		if !ok {
			return
		}
		if wait > 0 {
			d.resent = true
			n.At(n.now+wait, func() { ep.arrive(d) })
			return
		}
	case target.ID != d.target:
		fail("peer id mismatch: reached " + string(target.ID))
		return
	case target == ep:
		fail("dial to self attempted")
		return
	}
	l := ep.links[target.ID]
	fresh := l == nil
	if fresh {
		l = n.newLink()
		*l = link{ends: [2]*Endpoint{ep, target}, node: [2]int32{ep.idx, target.idx}, alive: [2]bool{false, true}}
		l.last[0] = n.now + back
		ep.link(target, l)
		target.link(ep, l)
	}
	// Schedule the dialler's Connected before the listener reacts, so that
	// anything the listener sends at once arrives after it.
	n.At(n.now+back, func() {
		if d.cancelled || ep.dials[d.target] != d {
			return
		}
		delete(ep.dials, d.target)
		if ep.links[target.ID] != l {
			return // the other side closed first; its close is on the way
		}
		l.alive[l.side(ep)] = true
		ep.resync(l)
		ep.Input(action.Connected{Peer: target.ID, Addr: target.Addr})
	})
	if fresh {
		target.Input(action.IncomingConnection{Peer: ep.ID, Addr: ep.Addr})
	}
}

// Close closes the connection to a peer (or cancels the dial) and always
// confirms with one Disconnected.
func (ep *Endpoint) Close(peer state.PeerID) {
	n := ep.net
	if d, ok := ep.dials[peer]; ok {
		d.cancelled = true
		delete(ep.dials, peer)
	}
	if l, ok := ep.links[peer]; ok {
		ep.closeLink(l)
	}
	n.After(0, func() { ep.Input(action.Disconnected{Peer: peer, Error: "closed"}) })
}

// closeLink ends our side of l; the other side learns of it after what we
// sent before.
func (ep *Endpoint) closeLink(l *link) {
	n := ep.net
	s := l.side(ep)
	l.alive[s] = false
	if l.held != nil {
		// What a cut held back is lost with the connection, as with a
		// reset: the close below does not wait for it.
		l.held[1-s] = nil
	}
	ep.resync(l)
	other := l.ends[1-s]
	ep.unlink(other)
	at := max(n.now+n.latency(), l.last[1-s])
	l.last[1-s] = at
	n.At(at, func() {
		if !l.alive[1-s] && other.links[ep.ID] != l {
			return
		}
		l.alive[1-s] = false
		other.resync(l)
		if other.links[ep.ID] == l {
			other.unlink(ep)
		}
		if d, ok := other.dials[ep.ID]; ok {
			// The connection died before our dial completed.
			d.cancelled = true
			delete(other.dials, ep.ID)
		}
		other.Input(action.Disconnected{Peer: ep.ID, Error: "connection closed by peer"})
	})
}

// Send delivers one message to a peer over the open connection, in order.
// Without one it fails (SendFailed); data messages that go out are
// reported Sent.
func (ep *Endpoint) Send(peer state.PeerID, ch, wire state.Channel, data []byte) {
	l := ep.links[peer]
	if l == nil || !l.alive[l.side(ep)] {
		ep.complete(sentKey{peer: peer, ch: ch, failed: true}, -1)
		return
	}
	if ch != state.ChannelControl {
		ep.complete(sentKey{peer: peer, ch: ch}, -1)
	}
	ep.transmit(l, func(to *Endpoint) {
		to.Input(action.MessageReceived{Peer: ep.ID, Channel: wire, Data: data})
	})
}

// transmit schedules fn at the other end of l, in order after earlier
// messages.
//
// A connection is a reliable stream, as a libp2p one is: what the loss
// rate takes is sent again a RetransmitTimeout later (doubling at each
// loss in a row), and what was sent after it waits behind it. Messages
// dropped one by one, with the later ones arriving, would show a peer
// a stream with holes (a handshake's answer missing and the messages
// after it there), which no transport does and which the protocol
// rightly treats as a violation. After MaxRetransmits losses in a row
// the connection gives up (giveUp): nothing more arrives, and the sender
// closes it.
//
// A message that a partition or one-way cut keeps from crossing is held
// the same way (hold): it and everything sent after it arrive once a
// retransmission finds the way open, or never, if the cut outlasts the
// retransmissions.
func (ep *Endpoint) transmit(l *link, fn func(to *Endpoint)) {
	n := ep.net
	s := l.side(ep)
	to := l.ends[1-s]
	if l.stalled[1-s] {
		return
	}
	if l.held != nil && len(l.held[1-s]) > 0 {
		l.held[1-s] = append(l.held[1-s], fn)
		return
	}
	if !n.reachable(ep, to) {
		ep.hold(l, fn)
		return
	}
	wait, ok := n.retransmissions(RetransmitTimeout)
	if !ok {
		ep.giveUp(l, n.now+int64(RetransmitTimeout)*(1<<MaxRetransmits-1))
		return
	}
	n.At(l.arrivalAfter(n, 1-s, wait), func() {
		if l.alive[1-s] {
			fn(to)
		}
	})
}

// hold starts retransmitting fn, which cannot cross a cut to the other
// end of l, as TCP would: after RetransmitTimeout, doubling, up to
// MaxRetransmits times. The first retransmission that finds the way open
// brings fn and whatever was sent after it, in order, a latency later
// (loss is not drawn for them: a retransmission is one more try, and the
// tries are what hold counts). If none does, the connection gives up, as
// after loss.
func (ep *Endpoint) hold(l *link, fn func(to *Endpoint)) {
	n := ep.net
	s := l.side(ep)
	r := 1 - s
	if l.held == nil {
		l.held = new(heldMessages)
	}
	l.held[r] = append(l.held[r], fn)
	var retry func(k int, rto int64)
	retry = func(k int, rto int64) {
		n.At(n.now+rto, func() {
			to := l.ends[r]
			switch {
			case len(l.held[r]) == 0:
				// The sender closed the connection (closeLink).
			case to.links[ep.ID] != l:
				// The receiver closed it. (Not !l.alive[r]: a dialler's
				// side is not alive until its Connected, and what the
				// listener sends at once waits for that, not for a close.)
				l.held[r] = nil
			case n.reachable(ep, to):
				for _, fn := range l.held[r] {
					n.At(l.arrival(n, r), func() {
						if l.alive[r] {
							fn(to)
						}
					})
				}
				l.held[r] = nil
			case k == MaxRetransmits:
				l.held[r] = nil
				ep.giveUp(l, n.now)
			default:
				retry(k+1, 2*rto)
			}
		})
	}
	retry(1, int64(RetransmitTimeout))
}

// giveUp stops l carrying anything more from ep, whose message was not
// delivered after MaxRetransmits retransmissions, and at time at (when
// the last of them has failed) closes the connection on ep's side, as a
// stack whose retransmissions or keepalives go unanswered does: ep hears
// "connection timed out", and the other side a close, a latency later.
func (ep *Endpoint) giveUp(l *link, at int64) {
	s := l.side(ep)
	l.stalled[1-s] = true
	to := l.ends[1-s]
	ep.net.At(at, func() {
		if ep.links[to.ID] != l || !l.alive[s] || ep.silent {
			// Closed already; or frozen, and then it would not hear of
			// the close: the connection stays stalled, for pings to find.
			return
		}
		ep.closeLink(l)
		ep.Input(action.Disconnected{Peer: to.ID, Error: "connection timed out"})
	})
}

// RetransmitTimeout is how long a connection waits before it sends a lost
// message again, the first time (TCP's minimum on Linux), and
// SYNRetransmitTimeout the same for a connection request (TCP's initial
// timeout); each doubles at every loss in a row, up to MaxRetransmits.
const (
	RetransmitTimeout    = 200 * time.Millisecond
	SYNRetransmitTimeout = time.Second
	MaxRetransmits       = 6
)

// retransmissions draws how many times in a row a message is lost and
// returns the time its resending adds, the first after rto, or false if
// it is lost more than MaxRetransmits times. Without loss it draws
// nothing.
func (n *Network) retransmissions(first time.Duration) (int64, bool) {
	var wait int64
	rto := int64(first)
	for k := 0; n.lost(); k++ {
		if k == MaxRetransmits {
			return 0, false
		}
		wait += rto
		rto *= 2
	}
	return wait, true
}

// arrival draws when a message sent now reaches side s of l: a latency
// after now, and not before what was sent earlier.
func (l *link) arrival(n *Network, s int) int64 { return l.arrivalAfter(n, s, 0) }

// arrivalAfter is arrival for a message that leaves wait ns from now.
func (l *link) arrivalAfter(n *Network, s int, wait int64) int64 {
	at := max(n.now+wait+n.latency()+n.slow[l.node[0]]+n.slow[l.node[1]], l.last[s])
	l.last[s] = at
	return at
}

// Publish sends a broadcast of ours to every peer (flood publishing).
func (ep *Endpoint) Publish(ch state.Channel, data []byte) {
	n := ep.net
	m := &gossipMsg{author: ep.ID, from: ep, ch: ch, data: data}
	n.publish(m)
	ep.markSeen(m)
	ep.remember(m)
	if n.trackNext {
		n.trackNext = false
		if n.fates == nil {
			n.fates = map[uint64]*Fate{}
		}
		m.fate = &Fate{}
		n.fates[m.id] = m.fate
	}
	ep.relay(m, nil, true)
	ep.complete(sentKey{ch: ch}, int(ch))
}

// gossip hands a new broadcast from a neighbour to the node, once
// (GossipReceived); it is relayed only if the node accepts it, as
// GossipSub does after validation.
// fromID is from.ID, as the network's table has it (the sender's endpoint
// is not otherwise read).
func (ep *Endpoint) gossip(from *Endpoint, fromID state.PeerID, m *gossipMsg) {
	ep.current = heldMsg{from: from, gossipMsg: m}
	ep.Input(action.GossipReceived{Peer: fromID, Author: m.author, Channel: m.ch, Msg: m.id, Data: m.data})
	ep.current = heldMsg{}
}

// inHand finds a broadcast the node was handed and has not judged.
func (ep *Endpoint) inHand(msg uint64) (heldMsg, bool) {
	if ep.current.gossipMsg != nil && ep.current.id == msg {
		return ep.current, true
	}
	if !ep.anyValidating {
		return heldMsg{}, false
	}
	m, ok := ep.validating[msg]
	return m, ok
}

// Verdict relays an accepted broadcast and forgets the rest.
func (ep *Endpoint) Verdict(msg uint64, v state.Verdict) {
	m, ok := ep.inHand(msg)
	if !ok {
		return
	}
	if ep.current.gossipMsg == m.gossipMsg {
		ep.current = heldMsg{}
	}
	if ep.anyValidating {
		delete(ep.validating, msg)
		ep.anyValidating = len(ep.validating) > 0
	}
	if v == state.VerdictAccept {
		ep.remember(m.gossipMsg)
		ep.relay(m.gossipMsg, m.from, false)
	}
}

// Validate runs the application's validator and reports its verdict as
// the next event.
func (ep *Endpoint) Validate(c service.Validate) {
	m, ok := ep.inHand(c.Msg)
	if !ok {
		return
	}
	if ep.validating == nil {
		ep.validating = map[uint64]heldMsg{}
	}
	ep.validating[c.Msg] = m
	ep.anyValidating = true
	v := state.VerdictAccept
	if ep.Validator != nil {
		v = ep.Validator(c.Peer, c.Channel, m.data)
	}
	ep.net.After(0, func() { ep.Input(action.GossipValidated{Msg: c.Msg, Verdict: v}) })
}

// DeliverHeld hands the application a broadcast its validator accepted.
func (ep *Endpoint) DeliverHeld(msg uint64) {
	if m, ok := ep.validating[msg]; ok && ep.OnDeliver != nil {
		ep.OnDeliver(m.from.ID, m.ch, m.data)
	}
}

// Throttle does nothing in the simulated network: the node refuses what a
// throttled peer sends all the same; only the real transport can stop
// reading.
func (ep *Endpoint) Throttle(state.PeerID, bool) {}

// complete counts a finished send (ch < 0) or publish (ch ≥ 0) and reports
// the batch once the current event is done.
func (ep *Endpoint) complete(k sentKey, publishCh int) {
	if publishCh >= 0 {
		ep.published[publishCh]++
	} else {
		ep.sent[k]++
	}
	if ep.flushing {
		return
	}
	ep.flushing = true
	ep.net.After(0, func() {
		ep.flushing = false
		for ch, count := range ep.published {
			if count > 0 {
				ep.published[ch] = 0
				ep.Input(action.Published{Channel: state.Channel(ch), Count: count})
			}
		}
		for _, k := range sortedSentKeys(ep.sent) {
			count := ep.sent[k]
			delete(ep.sent, k)
			if k.failed {
				ep.Input(action.SendFailed{Peer: k.peer, Channel: k.ch, Count: count, Error: "not connected"})
			} else {
				ep.Input(action.Sent{Peer: k.peer, Channel: k.ch, Count: count})
			}
		}
	})
}

func sortedSentKeys(m map[sentKey]uint32) []sentKey {
	keys := make([]sentKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sentKey) int {
		if a.peer != b.peer {
			return strings.Compare(string(a.peer), string(b.peer))
		}
		if a.ch != b.ch {
			return int(a.ch) - int(b.ch)
		}
		if a.failed != b.failed {
			if a.failed {
				return 1
			}
			return -1
		}
		return 0
	})
	return keys
}

// Deliver hands a message to the application.
func (ep *Endpoint) Deliver(peer state.PeerID, ch state.Channel, data []byte) {
	if ep.OnDeliver != nil {
		ep.OnDeliver(peer, ch, data)
	}
}

// AcceptStream does nothing: the simulated network has no streams.
func (ep *Endpoint) AcceptStream(state.PeerID, uint64) {}

// ResetStream does nothing: the simulated network has no streams.
func (ep *Endpoint) ResetStream(state.PeerID, uint64) {}

// SavePeerStore keeps the snapshot in memory.
func (ep *Endpoint) SavePeerStore(ps state.PeerStore) { ep.Saved = &ps }

// Crash stops the node: its connections drop (the peers notice after a
// latency), pending dials vanish, and it receives nothing more.
func (ep *Endpoint) Crash() {
	for _, peer := range state.SortedKeys(ep.links) {
		ep.closeLink(ep.links[peer])
	}
	for _, peer := range state.SortedKeys(ep.dials) {
		ep.dials[peer].cancelled = true
	}
	ep.dials = map[state.PeerID]*dial{}
	ep.down = true
	ep.net.quiet[ep.idx] = true
	ep.net.changed()
}

// Restart brings a crashed node back as a new process would come: no
// connections, nothing remembered of the gossip it had seen. The
// simulation gives it a new store (and the peer store it saved).
func (ep *Endpoint) Restart() {
	ep.down, ep.silent = false, false
	ep.net.quiet[ep.idx] = false
	ep.net.changed() // and its meshes are gone (ep.g below)
	for _, q := range ep.g.seenQ {
		if m := ep.net.kept(q.id); m != nil {
			m.setSeen(ep.idx, false)
		}
	}
	ep.g = gossipNode{}
	ep.current, ep.validating, ep.anyValidating = heldMsg{}, nil, false
	clear(ep.sent)
	ep.published = [state.MaxChannels]uint32{}
}

// Slow delays every message to or from the node by d more, until Heal.
func (ep *Endpoint) Slow(d time.Duration) { ep.net.slow[ep.idx] = int64(d) }

// Silence freezes the node: its connections stay open but it neither
// receives nor sends; its peers find out through their ping timeouts.
func (ep *Endpoint) Silence() {
	ep.silent = true
	ep.net.quiet[ep.idx] = true
	ep.net.changed()
}

// Down reports whether the node has crashed.
func (ep *Endpoint) Down() bool { return ep.down }

// Silent reports whether the node is frozen with its connections open.
func (ep *Endpoint) Silent() bool { return ep.silent }

// Links is the number of connections the endpoint has open.
func (ep *Endpoint) Links() int { return len(ep.links) }
