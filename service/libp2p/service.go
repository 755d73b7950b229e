// Package libp2p is the production service: it carries out the state
// machine's commands on a real go-libp2p host and reports what happens as
// input actions.
//
// The host speaks TCP and QUIC (WebSocket on request), Noise first and TLS
// as a fallback, and yamux, under go-libp2p's resource manager as a hard
// safety net. go-libp2p's own connection manager is off: every connection —
// our dials, inbound peers, whatever another subsystem opens — is reported
// to the state machine, which keeps or closes it. Broadcast channels ride
// GossipSub, one topic per (network, channel); direct and control messages
// use a framed stream protocol with a size limit per channel.
//
// Every method the store calls returns at once; the work happens in
// goroutines and comes back through the Sink.
package libp2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	golibp2p "github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ws "github.com/libp2p/go-libp2p/p2p/transport/websocket"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Config configures the service.
type Config struct {
	// Network is the network id; it names the protocols and topics, so
	// nodes of different networks do not even share a topic.
	Network string
	// Key is the node's identity.
	Key crypto.PrivKey
	// ListenAddrs are multiaddrs to listen on.
	ListenAddrs []string
	// WebSocket adds the WebSocket transport.
	WebSocket bool
	// Rules are the state machine's configuration. The service reads its
	// numbers from them — each channel's size limit and priority, the
	// global message limit, the stall and close timeouts, the dial
	// timeout — so that it never applies a number of its own.
	Rules state.Config
	// PubSubQueue is GossipSub's per-peer outbound queue; publishing
	// pauses while any peer's queue is three-quarters full, so nothing we
	// publish is dropped.
	PubSubQueue int
	// Sink receives every event; it may block (back-pressure).
	Sink service.Sink
	// Deliver hands received data messages to the application; it is
	// called from the store's goroutine.
	Deliver func(peer state.PeerID, ch state.Channel, data []byte)
	// Serve hands a peer's request to the application, whose answer
	// comes back as action.SendResponse; Complete hands it the outcome of
	// one of its own requests. Both are called from the state machine's
	// goroutine and must not block.
	Serve    func(peer state.PeerID, ch state.Channel, id uint64, data []byte)
	Complete func(id uint64, st state.RequestStatus, data []byte)
	// Sessions, if set, runs the application's session callbacks.
	Sessions service.SessionApp
	// Validators are the application's validators of broadcast channels
	// (those with Rules.Channels[ch].Validated set).
	Validators map[state.Channel]Validator
	// PeerStorePath is where SavePeerStore writes ("" keeps nothing).
	PeerStorePath string
	// Found hands the application the answers to its DHT lookups; it is
	// called from the store's goroutine and must not block.
	Found func(service.FoundPeers)
	// Grant hands the node the state machine's answer to its HTTPAsk;
	// called from the store's goroutine, it must not block.
	Grant func(service.HTTPGrant)
	// Logger, if nil, discards.
	Logger *slog.Logger
}

// Validator is an application's verdict on a broadcast before it is
// delivered or relayed. It runs in its own goroutine; a panic counts as
// ignore.
type Validator func(from state.PeerID, ch state.Channel, data []byte) state.Verdict

// Service is a go-libp2p host driven by a p2pcore store.
type Service struct {
	cfg    Config
	log    *slog.Logger
	h      host.Host
	ps     *pubsub.PubSub
	flow   *flowControl
	topics [state.MaxChannels]*pubsub.Topic
	subs   [state.MaxChannels]*pubsub.Subscription
	direct protocol.ID

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards the maps below; the store's goroutine takes it only
	// briefly and never while waiting on anything.
	mu      sync.Mutex
	writers map[peer.ID]*writer
	dials   map[peer.ID]*dial
	closing map[peer.ID]bool
	// streams are inbound streams waiting for the state machine's
	// decision, by number.
	streams   map[uint64]chan bool
	streamSeq atomic.Uint64
	// finishing marks peers whose finishClose has begun.
	finishing map[peer.ID]bool

	// emitMu orders events: a peer's connection event always reaches the
	// sink before its first message. Lock order: emitMu, then mu. The
	// store's goroutine never takes emitMu.
	emitMu   sync.Mutex
	reported map[peer.ID]bool

	sess      *sessions
	sessOnce  sync.Once
	pub       *publisher
	saver     *saver
	gossip    *gossip
	gossipSeq atomic.Uint64

	// gate refuses connections beyond the state machine's limits
	// (gate.go); outboundOurs counts the peers our own dials connected,
	// whose places it keeps free.
	gate         *gate
	outboundOurs atomic.Int64
	ours         map[peer.ID]bool

	// dht is the Kademlia DHT (nil when Rules.DHTMode is off).
	dht *dht.IpfsDHT
	// http serves HTTP over libp2p once a handler is set.
	http httpServer
}

type dial struct {
	cancel    context.CancelFunc
	cancelled bool
	connected bool
}

var _ service.Service = (*Service)(nil)

// DirectProtocol carries control and direct messages. It does not name
// the network: a node of another network must be able to deliver its Hello
// so that it can be refused with a reason ("wrong network") rather than
// time out. Broadcast topics do name the network. Its version follows the
// wire protocol's when a version 1 node could not read ours: protocol 2's
// Hello lists channels, which a version 1 decoder would score as
// malformed and ban, so the two do not share a protocol ID at all (the
// handshake times out instead).
const DirectProtocol = protocol.ID("/p2pcore/direct/2")

// New starts a host listening on cfg.ListenAddrs and joins the broadcast
// topics. Events flow to cfg.Sink from now on.
func New(cfg Config) (*Service, error) {
	if cfg.Key == nil || cfg.Sink == nil {
		return nil, errors.New("libp2p service: a key and a sink are required")
	}
	if err := cfg.Rules.Validate(); err != nil {
		return nil, fmt.Errorf("libp2p service: %w", err)
	}
	if cfg.PubSubQueue <= 0 {
		cfg.PubSubQueue = DefaultPubSubQueue
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	listen := make([]ma.Multiaddr, 0, len(cfg.ListenAddrs))
	for _, s := range cfg.ListenAddrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("listen address %q: %v", s, err)
		}
		listen = append(listen, m)
	}
	rm, err := resourceManager(cfg.Rules)
	if err != nil {
		return nil, err
	}
	g := &gate{}
	opts := []golibp2p.Option{
		golibp2p.ConnectionGater(g),
		golibp2p.Identity(cfg.Key),
		golibp2p.ResourceManager(rm),
		golibp2p.ListenAddrs(listen...),
		// Without this, the kernel lets a second process bind the same TCP
		// port (SO_REUSEPORT) and "port in use" would go unnoticed.
		golibp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		golibp2p.Transport(quic.NewTransport),
		golibp2p.Security(noise.ID, noise.New),
		golibp2p.Security(tls.ID, tls.New),
		golibp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		golibp2p.ConnectionManager(connmgr.NullConnMgr{}),
		// The state machine's dial timeout is the only one that decides:
		// go-libp2p's own (15 s, 5 s for private addresses) would cut a
		// longer one short, so they are set a second beyond it.
		golibp2p.WithDialTimeout(dialDeadline(cfg.Rules)),
		golibp2p.SwarmOpts(swarm.WithDialTimeoutLocal(dialDeadline(cfg.Rules))),
		golibp2p.DisableRelay(),
		golibp2p.DisableMetrics(),
		golibp2p.UserAgent("p2pcore"),
	}
	if cfg.WebSocket {
		opts = append(opts, golibp2p.Transport(ws.New))
	}
	h, err := golibp2p.New(opts...)
	if err != nil {
		return nil, listenError(err)
	}
	if err := checkListening(listen, h.Network().ListenAddresses()); err != nil {
		h.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		cfg: cfg, log: log, h: h, ctx: ctx, cancel: cancel,
		direct:    DirectProtocol,
		writers:   map[peer.ID]*writer{},
		dials:     map[peer.ID]*dial{},
		closing:   map[peer.ID]bool{},
		streams:   map[uint64]chan bool{},
		finishing: map[peer.ID]bool{},
		reported:  map[peer.ID]bool{},
		ours:      map[peer.ID]bool{},
		gate:      g,
	}
	g.s = s
	s.gossip = newGossip(s)
	s.flow = newFlowControl(cfg.PubSubQueue*3/4, log, s.gossip)
	if err := s.startPubSub(); err != nil {
		h.Close()
		cancel()
		return nil, err
	}
	h.Network().Notify(&network.NotifyBundle{ConnectedF: s.connected, DisconnectedF: s.disconnected})
	h.SetStreamHandler(s.direct, s.handleStream)
	s.sessTable() // session streams are taken from the start
	if err := s.startDHT(); err != nil {
		h.Close()
		cancel()
		return nil, err
	}
	s.pub = newPublisher(s)
	s.saver = newSaver(cfg.PeerStorePath, log)
	s.wg.Add(1)
	go s.watchStalls()
	return s, nil
}

// exactID decodes a peer ID given in its canonical text form only. Other
// forms of the same peer (its CIDv1 text, say) are refused, so that a
// command for an alias can never reach — or close — the real peer.
func exactID(id state.PeerID) (peer.ID, error) {
	p, err := peer.Decode(string(id))
	if err != nil {
		return "", err
	}
	if p.String() != string(id) {
		return "", fmt.Errorf("%q is not the canonical form of peer ID %s", id, p)
	}
	return p, nil
}

// resourceManager is go-libp2p's resource manager with its usual limits on
// connections, streams and descriptors (scaled to the machine), but with
// memory bounded by Rules.MaxTransportMemory: the stream windows and other
// transport buffers of all connections together stay within it, however
// many peers push data at us.
func resourceManager(rules state.Config) (network.ResourceManager, error) {
	mem := int64(rules.MaxTransportMemory)
	limits := rcmgr.PartialLimitConfig{
		System:      rcmgr.ResourceLimits{Memory: rcmgr.LimitVal64(mem)},
		Transient:   rcmgr.ResourceLimits{Memory: rcmgr.LimitVal64(mem / 4)},
		PeerDefault: rcmgr.ResourceLimits{Memory: rcmgr.LimitVal64(mem / 4)},
	}.Build(rcmgr.DefaultLimits.AutoScale())
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}

// dialDeadline is go-libp2p's dial timeout: a second after the state
// machine's, which therefore always decides first.
func dialDeadline(rules state.Config) time.Duration { return rules.DialTimeout + time.Second }

// ID is the node's peer ID.
func (s *Service) ID() state.PeerID { return state.PeerID(s.h.ID().String()) }

// Host is the underlying go-libp2p host.
func (s *Service) Host() host.Host { return s.h }

// ListenAddrs are the addresses the host listens on, without /p2p.
func (s *Service) ListenAddrs() []state.Addr {
	var out []state.Addr
	for _, a := range s.h.Addrs() {
		out = append(out, state.Addr(a.String()))
	}
	return out
}

// Shutdown stops everything: pending writes are abandoned, the host
// closes. The caller's Sink must not block from now on.
func (s *Service) Shutdown() error {
	s.cancel()
	if s.dht != nil {
		s.dht.Close()
	}
	s.closeHTTP()
	s.gossip.mu.Lock()
	s.gossip.room.Broadcast() // readers waiting for room give up
	s.gossip.mu.Unlock()
	s.pub.stop()
	s.saver.stop()
	for _, sub := range s.subs {
		if sub != nil {
			sub.Cancel()
		}
	}
	s.mu.Lock()
	for _, w := range s.writers {
		w.stop()
	}
	s.mu.Unlock()
	err := s.h.Close()
	s.wg.Wait()
	return err
}

// emit sends an event to the sink. Callers hold emitMu.
func (s *Service) emit(a action.Action) {
	s.cfg.Sink(a)
}

// connEvent reports a peer's first connection, as Connected when it is the
// outcome of a dial the state machine asked for and as IncomingConnection
// otherwise. Callers hold emitMu.
func (s *Service) connEvent(p peer.ID, c network.Conn) {
	if s.reported[p] {
		return
	}
	s.reported[p] = true
	out := c.Stat().Direction == network.DirOutbound
	addr := state.Addr(c.RemoteMultiaddr().String())
	s.mu.Lock()
	d := s.dials[p]
	ours := out && d != nil && !d.cancelled
	if ours {
		d.connected = true
	}
	s.mu.Unlock()
	if ours {
		if !s.ours[p] {
			s.ours[p] = true
			s.outboundOurs.Add(1)
		}
		s.emit(action.Connected{Peer: state.PeerID(p.String()), Addr: addr})
		return
	}
	s.emit(action.IncomingConnection{Peer: state.PeerID(p.String()), Addr: addr, Outbound: out})
}

// forgetOurs forgets a peer our dial connected. Callers hold emitMu.
func (s *Service) forgetOurs(p peer.ID) {
	if s.ours[p] {
		delete(s.ours, p)
		s.outboundOurs.Add(-1)
	}
}

// connected is the swarm's notification of a new connection.
func (s *Service) connected(_ network.Network, c network.Conn) {
	s.gate.settle(c.RemotePeer())
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.connEvent(c.RemotePeer(), c)
}

// disconnected is the swarm's notification of a closed connection; the
// peer is gone when its last connection is.
func (s *Service) disconnected(n network.Network, c network.Conn) {
	p := c.RemotePeer()
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if n.Connectedness(p) == network.Connected || !s.reported[p] {
		return
	}
	delete(s.reported, p)
	s.forgetOurs(p)
	s.mu.Lock()
	closing := s.closing[p]
	w := s.writers[p]
	if !closing && w != nil {
		delete(s.writers, p)
	}
	s.mu.Unlock()
	s.gossip.forget(p)
	if closing {
		return // Close reports it
	}
	if w != nil {
		w.stop()
	}
	s.emit(action.Disconnected{Peer: state.PeerID(p.String()), Error: "connection closed"})
}

// emitMessage reports an event from p (a message, a stream), after p's
// connection event. An event from a peer whose connection has already
// gone is reported as it is: the state machine, which has been told the
// peer left, refuses it by its own rule.
func (s *Service) emitMessage(p peer.ID, c network.Conn, a action.Action) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if !s.reported[p] && c != nil && !c.IsClosed() {
		s.connEvent(p, c)
	}
	s.emit(a)
}

// Dial connects to a peer. The outcome arrives as Connected (through the
// connection notification) or ConnectionFailed.
func (s *Service) Dial(id state.PeerID, addrs []state.Addr) {
	p, err := exactID(id)
	if err != nil {
		s.failLater(id, fmt.Sprintf("invalid peer ID: %v", err))
		return
	}
	var mas []ma.Multiaddr
	for _, a := range addrs {
		if m, err := ma.NewMultiaddr(string(a)); err == nil {
			mas = append(mas, m)
		}
	}
	// The state machine's backoff is the only one: go-libp2p's own (5 s
	// growing to 5 min per address) is bypassed. Its timeout is set past
	// the state machine's, whose Close cancels the dial.
	ctx := network.WithForceDirectDial(s.ctx, "p2pcore: the state machine decides when to dial")
	ctx = network.WithDialPeerTimeout(ctx, dialDeadline(s.cfg.Rules))
	ctx, cancel := context.WithCancel(ctx)
	d := &dial{cancel: cancel}
	s.mu.Lock()
	if old := s.dials[p]; old != nil {
		old.cancelled = true
		old.cancel()
	}
	s.dials[p] = d
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		err := s.h.Connect(ctx, peer.AddrInfo{ID: p, Addrs: mas})
		s.emitMu.Lock()
		defer s.emitMu.Unlock()
		s.mu.Lock()
		mine := s.dials[p] == d
		if mine {
			delete(s.dials, p)
		}
		cancelled, connected := d.cancelled, d.connected
		s.mu.Unlock()
		switch {
		case cancelled || !mine || connected:
		case err != nil:
			s.emit(action.ConnectionFailed{Peer: id, Error: service.ErrorText(err)})
		case !s.reported[p]:
			// The connection was up before the notification ran.
			if conns := s.h.Network().ConnsToPeer(p); len(conns) > 0 {
				s.connEvent(p, conns[0])
			}
		}
	}()
}

// failLater reports a dial that cannot even start, from another goroutine
// so that the store never receives an event while it is dispatching.
func (s *Service) failLater(id state.PeerID, why string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.emitMu.Lock()
		defer s.emitMu.Unlock()
		s.emit(action.ConnectionFailed{Peer: id, Error: why})
	}()
}

// Close closes every connection to a peer after writing what was sent to
// it before, and confirms with exactly one Disconnected.
func (s *Service) Close(id state.PeerID) {
	p, err := exactID(id)
	if err != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.emitMu.Lock()
			defer s.emitMu.Unlock()
			s.emit(action.Disconnected{Peer: id, Error: "invalid peer ID"})
		}()
		return
	}
	s.mu.Lock()
	s.closing[p] = true
	if d := s.dials[p]; d != nil {
		d.cancelled = true
		d.cancel()
		delete(s.dials, p)
	}
	w := s.writers[p]
	s.mu.Unlock()
	if w != nil && w.close() {
		return // the writer finishes the close after its queue
	}
	if !s.beginFinish(p) {
		return // already being closed: one Disconnected is on its way
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.finishClose(p)
	}()
}

// beginFinish claims the close of p, so that exactly one finishClose —
// and one Disconnected — follows however many paths ask for it (the state
// machine's Close, a writer giving up on a peer that stopped reading).
func (s *Service) beginFinish(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finishing[p] {
		return false
	}
	s.finishing[p] = true
	s.closing[p] = true // the swarm's notification leaves the report to us
	return true
}

// finishClose closes the peer's connections and reports it.
func (s *Service) finishClose(p peer.ID) {
	s.gossip.forget(p)
	if err := s.h.Network().ClosePeer(p); err != nil {
		s.log.Debug("closing peer", "peer", p, "err", err)
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	delete(s.reported, p)
	s.forgetOurs(p)
	s.mu.Lock()
	delete(s.closing, p)
	if w := s.writers[p]; w != nil && w.closed() {
		delete(s.writers, p)
	}
	s.mu.Unlock()
	s.emit(action.Disconnected{Peer: state.PeerID(p.String()), Error: "closed"})
	s.mu.Lock()
	delete(s.finishing, p)
	s.mu.Unlock()
}

// Send queues a message for a peer's writer.
func (s *Service) Send(id state.PeerID, ch, wire state.Channel, data []byte) {
	s.sendFrame(id, frame{ch: ch, wire: wire, data: data})
}

// sendFrame queues a frame for a peer's writer.
func (s *Service) sendFrame(id state.PeerID, f frame) {
	p, err := exactID(id)
	if err != nil {
		why := fmt.Sprintf("invalid peer ID: %v", err)
		if f.failure(id, 1, why) == nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.emitMu.Lock()
			defer s.emitMu.Unlock()
			s.emit(f.failure(id, 1, service.ErrorText(errors.New(why))))
		}()
		return
	}
	s.mu.Lock()
	w := s.writers[p]
	if w == nil || w.closed() {
		w = newWriter(s, p, id)
		s.writers[p] = w
	}
	s.mu.Unlock()
	f.priority, f.queued = s.cfg.Rules.Channels[f.ch].Priority, time.Now()
	w.enqueue(f)
}

// Publish queues a broadcast.
func (s *Service) Publish(ch state.Channel, data []byte) { s.pub.enqueue(ch, data) }

// Deliver hands a message to the application.
func (s *Service) Deliver(p state.PeerID, ch state.Channel, data []byte) {
	if s.cfg.Deliver != nil {
		s.cfg.Deliver(p, ch, data)
	}
}

// SavePeerStore writes the peer store in the background.
func (s *Service) SavePeerStore(ps state.PeerStore) { s.saver.save(ps) }

// Dropped reports broadcasts GossipSub dropped despite the flow control
// (expected: zero, unless a peer stopped reading) and received messages it
// lost: not delivered to our subscription, or refused because validation
// fell behind.
func (s *Service) Dropped() (outbound, inbound uint64) {
	return s.flow.dropped.Load(), s.flow.undeliverable.Load() + s.flow.rejected.Load()
}

// TopicPeers lists the peers GossipSub knows to be subscribed to a
// broadcast channel's topic: those a publication reaches directly.
func (s *Service) TopicPeers(ch state.Channel) []state.PeerID {
	if !s.cfg.Rules.HasChannel(ch) || s.topics[ch] == nil {
		return nil
	}
	var out []state.PeerID
	for _, p := range s.topics[ch].ListPeers() {
		out = append(out, state.PeerID(p.String()))
	}
	return out
}
