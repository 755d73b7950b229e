// Package node is p2pcore's embedding API: a node is a store driven by one
// goroutine, fed by the go-libp2p service, the API and a ticker, optionally
// recording every action to a log.
//
//	n, err := node.New(node.Config{Network: "devnet", Bootstrap: boot, Record: "run.log"})
//	err = n.Start(ctx)
//	defer n.Close()
//	sub := n.Subscribe(channel.Block)
//	err = n.Broadcast(ctx, channel.Transaction, tx)
//	err = n.Send(ctx, peer, channel.Sync, req)
//	peers := n.Peers()
//	n.State(ctx, func(s *state.State) { … }) // a deep copy of the state
//	snap, err := n.Snapshot(ctx)              // counts, for dashboards
//	events := n.SubscribeEvents(0)            // peer ready, gone, misbehaved, banned
//
// The state belongs to the node's goroutine; every API call is carried out
// there, so callers never race with the state machine, and what the API
// hands out are copies.
package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/session"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// Errors of the API beyond those of package reducer (ErrQueueFull,
// ErrTooLarge, ErrNotReady, …), which the API returns as they are.
var (
	ErrNotStarted     = errors.New("node not started")
	ErrClosed         = errors.New("node closed")
	ErrSlowSubscriber = errors.New("subscriber fell too far behind; subscription closed")
)

// Node is a running p2pcore node.
type Node struct {
	cfg   Config
	rules state.Config
	log   *slog.Logger

	mu      sync.Mutex
	started bool
	closed  bool

	closeOnce sync.Once
	closeErr  error

	svc   *p2p.Service
	st    *store.Store
	rec   *replay.Writer
	meter *meter // with Config.Metrics
	id    state.PeerID
	addrs []string

	events   chan action.Action
	requests chan func()
	stop     chan struct{}
	loopDone chan struct{}

	subsMu     sync.Mutex
	subs       [state.MaxChannels][]*Subscription
	subsClosed bool // set by Close under subsMu; Subscribe then ends at once

	peerEvents eventHub // SubscribeEvents

	// Owned by the loop: API calls waiting for room in a full queue.
	broadcastWaiters [state.MaxChannels][]*waiter
	sendWaiters      map[sendKey]*[]*waiter
	recErr           error
	// Owned by the loop: our requests waiting for their outcome, by ID.
	pending map[uint64]chan requestResult
	// Owned by the loop: FindPeers calls waiting for their lookup, by ID.
	lookups map[uint64]chan service.FoundPeers
	// Owned by the loop: HTTP requests waiting for the rate limit, by
	// ticket.
	httpWaits map[uint64]chan bool

	handlers   handlers
	sessions   *session.Runner
	handlerCtx context.Context
	stopHandle context.CancelFunc
}

type sendKey struct {
	peer state.PeerID
	ch   state.Channel
}

// waiter is an API call waiting for its action to be accepted.
type waiter struct {
	a    action.Action
	done chan error
	gone bool // the caller gave up
}

// New checks the configuration and prepares a node; Start starts it.
func New(cfg Config) (*Node, error) {
	cfg, rules, _, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, rules: rules, log: cfg.Logger, sendWaiters: map[sendKey]*[]*waiter{},
		pending: map[uint64]chan requestResult{}, lookups: map[uint64]chan service.FoundPeers{},
		httpWaits: map[uint64]chan bool{}}
	n.sessions = session.NewRunner(func(a action.Action) { n.sink(a) })
	n.handlerCtx, n.stopHandle = context.WithCancel(context.Background())
	return n, nil
}

// realClock reads the wall clock; the store keeps it from going backwards.
type realClock struct{}

func (realClock) Now() int64 { return time.Now().UnixNano() }

// Start creates the identity on first start, starts the libp2p host,
// opens the action log and starts the node's goroutine. ctx bounds the
// start-up only; the node runs until Close.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started || n.closed {
		return errors.New("node: Start called twice")
	}
	cfg := n.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	key, created, err := p2p.LoadOrCreateKey(filepath.Join(cfg.DataDir, p2p.KeyFile))
	if err != nil {
		return err
	}
	peerStorePath := filepath.Join(cfg.DataDir, p2p.PeerStoreFile)
	saved, err := p2p.LoadPeerStore(peerStorePath)
	if err != nil {
		// A damaged peer store costs us our address book, not our start:
		// keep the file for inspection and start from the bootnodes.
		aside := peerStorePath + ".damaged"
		n.log.Error("ignoring the peer store", "err", err, "moved_to", aside)
		os.Rename(peerStorePath, aside)
		saved = state.PeerStore{}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	n.events = make(chan action.Action, 4096)
	n.requests = make(chan func(), 64)
	n.stop = make(chan struct{})
	n.loopDone = make(chan struct{})
	svc, err := p2p.New(p2p.Config{
		Network: cfg.Network, Key: key, ListenAddrs: cfg.Listen, WebSocket: cfg.WebSocket, Rules: n.rules,
		Validators: serviceValidators(cfg.Validators),
		Sink:       n.sink, Deliver: n.deliver, Serve: n.serve, Complete: n.complete, Sessions: n.sessions,
		Found: n.found, Grant: n.granted,
		PeerStorePath: peerStorePath, Logger: n.log,
	})
	if err != nil {
		return err
	}
	n.svc, n.id = svc, svc.ID()
	if created {
		n.log.Info("created a new identity", "file", filepath.Join(cfg.DataDir, p2p.KeyFile))
	}
	self := state.Self{ID: n.id, ListenAddrs: svc.ListenAddrs()}
	for _, a := range self.ListenAddrs {
		n.addrs = append(n.addrs, string(a)+"/p2p/"+string(n.id))
	}

	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	st := state.New(n.rules, self, seed, realClock{}.Now())
	opts := store.Options{CheckpointEvery: cfg.CheckpointEvery, OnViolation: n.violation}
	plog := &peerLog{log: n.log}
	if cfg.Record != "" {
		kept, err := keepPreviousLog(cfg.Record)
		if err != nil {
			svc.Shutdown()
			return err
		}
		if kept != "" {
			n.log.Info("kept the previous action log", "file", kept)
		}
		w, err := replay.Create(cfg.Record, replay.NewHeader(st, seed, cfg.CheckpointEvery))
		if err != nil {
			svc.Shutdown()
			return err
		}
		if cfg.RecordPayloads == "full" {
			w.KeepPayloads()
		}
		n.rec, plog.next = w, w
	}
	ev := n.peerEvents.observe(plog)
	opts.Observer, opts.AfterAction = ev, ev.after
	if cfg.Metrics {
		n.meter = newMeter(ev)
		opts.Observer, opts.Phases = n.meter, n.meter.phase
	}
	n.st = store.New(st, svc, realClock{}, opts)
	plog.st, ev.st = n.st, n.st
	n.started = true
	n.log.Info("node started", "id", n.id, "network", cfg.Network, "addrs", n.addrs, "record", cfg.Record)

	go n.loop(saved)
	return nil
}

// sink is the service's way in: it blocks while the loop is busy
// (back-pressure on the network) and never after Close.
func (n *Node) sink(a action.Action) {
	select {
	case n.events <- a:
	case <-n.stop:
	}
}

func (n *Node) loop(saved state.PeerStore) {
	defer close(n.loopDone)
	if len(saved.Entries)+len(saved.Bans) > 0 {
		n.dispatch(action.PeerStoreLoaded{Store: saved})
	}
	for _, target := range state.SortedKeys(n.cfg.Bans) {
		n.dispatch(action.Ban{Target: target, Duration: n.cfg.Bans[target], Reason: "configured"})
	}
	n.dispatch(action.Tick{})
	tick := time.NewTicker(n.cfg.TickInterval)
	defer tick.Stop()
	flush := time.NewTicker(200 * time.Millisecond)
	defer flush.Stop()
	for {
		select {
		case a := <-n.events:
			n.dispatch(a)
		case fn := <-n.requests:
			fn()
		case <-tick.C:
			n.dispatch(action.Tick{})
			n.st.Audit()
		case <-flush.C:
			n.flushLog()
		case <-n.stop:
			return
		}
	}
}

// dispatch runs one input through the store and wakes the API calls it
// may have made room for.
func (n *Node) dispatch(a action.Action) error {
	var start time.Time
	if n.meter != nil {
		start = time.Now()
	}
	_, err := n.st.Dispatch(a)
	if n.meter != nil {
		n.meter.dispatched(time.Since(start))
	}
	switch a := a.(type) {
	case action.Published:
		n.retry(&n.broadcastWaiters[a.Channel])
	case action.PublishFailed:
		n.retry(&n.broadcastWaiters[a.Channel])
	case action.Sent:
		n.retrySends(sendKey{a.Peer, a.Channel})
	case action.SendFailed:
		n.retrySends(sendKey{a.Peer, a.Channel})
	case action.Expired:
		if a.Peer == "" {
			n.retry(&n.broadcastWaiters[a.Channel])
		} else {
			n.retrySends(sendKey{a.Peer, a.Channel})
		}
	case action.Disconnected:
		// Waiting sends to a peer that left now fail with ErrUnknownPeer.
		for ch := range n.rules.Channels {
			n.retrySends(sendKey{a.Peer, state.Channel(ch)})
		}
	}
	if n.rec != nil && n.recErr == nil && n.rec.Err() != nil {
		n.recErr = n.rec.Err()
		n.log.Error("action log: recording stopped", "err", n.recErr)
	}
	return err
}

func serviceValidators(vs map[state.Channel]Validator) map[state.Channel]p2p.Validator {
	out := make(map[state.Channel]p2p.Validator, len(vs))
	for ch, v := range vs {
		out[ch] = func(from state.PeerID, _ state.Channel, data []byte) state.Verdict { return v(from, data) }
	}
	return out
}

// violation reports a broken invariant: a bug in the state machine, which
// the operator must see. Each kind is logged once, with the action after
// which it was found and the log that holds the run.
func (n *Node) violation(lastID uint64, v *state.Violation) {
	args := []any{"rule", v.Rule, "detail", v.Detail, "after_action", lastID}
	if n.cfg.Record != "" {
		args = append(args, "log", n.cfg.Record,
			"inspect", fmt.Sprintf("p2pnode replay --check --to %d --state %s", lastID, n.cfg.Record))
	}
	n.log.Error("state invariant violated (a p2pcore bug; please report it with the action log)", args...)
}

func (n *Node) retrySends(k sendKey) {
	if q, ok := n.sendWaiters[k]; ok {
		n.retry(q)
		if len(*q) == 0 {
			delete(n.sendWaiters, k)
		}
	}
}

// retry re-dispatches waiting API calls in order until one still finds
// the queue full.
func (n *Node) retry(q *[]*waiter) {
	for len(*q) > 0 {
		w := (*q)[0]
		if w.gone {
			*q = (*q)[1:]
			continue
		}
		_, err := n.st.Dispatch(w.a)
		if errors.Is(err, reducer.ErrQueueFull) {
			return
		}
		*q = (*q)[1:]
		w.done <- err
	}
}

func (n *Node) flushLog() {
	if n.rec != nil && n.recErr == nil {
		if err := n.rec.Flush(); err != nil {
			n.recErr = err
			n.log.Error("action log: recording stopped", "err", err)
		}
	}
}

// do runs fn inside the loop and waits for it.
func (n *Node) do(ctx context.Context, fn func()) error {
	n.mu.Lock()
	started, closed := n.started, n.closed
	n.mu.Unlock()
	if !started {
		return ErrNotStarted
	}
	if closed {
		return ErrClosed
	}
	done := make(chan struct{})
	select {
	case n.requests <- func() { fn(); close(done) }:
	case <-n.loopDone:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-n.loopDone:
		return ErrClosed
	}
}

// submit dispatches an API action; when its queue is full it waits for room
// (back-pressure) until ctx ends.
func (n *Node) submit(ctx context.Context, a action.Action, queue func() *[]*waiter) error {
	w := &waiter{a: a, done: make(chan error, 1)}
	err := n.do(ctx, func() {
		err := n.dispatch(a)
		if errors.Is(err, reducer.ErrQueueFull) && queue != nil {
			q := queue()
			*q = append(*q, w)
			return
		}
		w.done <- err
	})
	if err != nil {
		return err
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		n.do(context.Background(), func() { w.gone = true })
		select {
		case err := <-w.done: // accepted while we were giving up
			return err
		default:
			return ctx.Err()
		}
	case <-n.loopDone:
		return ErrClosed
	}
}

// Broadcast publishes data on a broadcast channel. When the channel's queue
// is full it waits for room until ctx ends; it never drops the message.
func (n *Node) Broadcast(ctx context.Context, ch state.Channel, data []byte) error {
	if err := n.checkSize(ch, data); err != nil {
		return err
	}
	a := action.BroadcastMessage{Channel: ch, Data: append([]byte(nil), data...)}
	return n.submit(ctx, a, func() *[]*waiter { return &n.broadcastWaiters[ch] })
}

// TryBroadcast is Broadcast without the wait: when the channel's queue is
// full it fails at once with reducer.ErrQueueFull.
func (n *Node) TryBroadcast(ctx context.Context, ch state.Channel, data []byte) error {
	if err := n.checkSize(ch, data); err != nil {
		return err
	}
	return n.submit(ctx, action.BroadcastMessage{Channel: ch, Data: append([]byte(nil), data...)}, nil)
}

// TrySend is Send without the wait: when the peer's queue on the channel
// is full it fails at once with reducer.ErrQueueFull.
func (n *Node) TrySend(ctx context.Context, peer state.PeerID, ch state.Channel, data []byte) error {
	if err := n.checkSize(ch, data); err != nil {
		return err
	}
	return n.submit(ctx, action.SendMessage{Peer: peer, Channel: ch, Data: append([]byte(nil), data...)}, nil)
}

// Send sends data to one ready peer on a channel, waiting for room in the
// peer's queue until ctx ends.
func (n *Node) Send(ctx context.Context, peer state.PeerID, ch state.Channel, data []byte) error {
	if err := n.checkSize(ch, data); err != nil {
		return err
	}
	a := action.SendMessage{Peer: peer, Channel: ch, Data: append([]byte(nil), data...)}
	k := sendKey{peer, ch}
	return n.submit(ctx, a, func() *[]*waiter {
		q, ok := n.sendWaiters[k]
		if !ok {
			q = new([]*waiter)
			n.sendWaiters[k] = q
		}
		return q
	})
}

func (n *Node) checkSize(ch state.Channel, data []byte) error {
	if !n.rules.HasChannel(ch) || ch == state.ChannelControl {
		return fmt.Errorf("%w: %s", reducer.ErrUnknownChannel, ch)
	}
	if len(data) > n.rules.Channels[ch].MaxSize {
		return fmt.Errorf("%w: %d bytes on %s, limit %d", reducer.ErrTooLarge, len(data), ch, n.rules.Channels[ch].MaxSize)
	}
	return nil
}

// Connect dials a peer given as a multiaddr ending in /p2p/<peer ID>. The
// dial is manual: it does not count against the outbound target. It
// returns once the dial has started; Peers shows how it went.
func (n *Node) Connect(ctx context.Context, addr string) error {
	boot, err := ParseBootstrap([]string{addr})
	if err != nil {
		return err
	}
	var derr error
	if err := n.do(ctx, func() {
		derr = n.dispatch(action.Connect{Peer: boot[0].ID, Addrs: boot[0].Addrs, Manual: true})
	}); err != nil {
		return err
	}
	return derr
}

// Disconnect closes the connection to a peer, telling it why.
func (n *Node) Disconnect(ctx context.Context, peer state.PeerID) error {
	return n.act(ctx, action.Disconnect{Peer: peer, Reason: state.ReasonRequested})
}

// Ban keeps a peer ID or an IP address away for d and drops its
// connections; bans are saved with the peer store.
func (n *Node) Ban(ctx context.Context, target string, d time.Duration, reason string) error {
	return n.act(ctx, action.Ban{Target: target, Duration: d, Reason: reason})
}

// Unban lifts a ban.
func (n *Node) Unban(ctx context.Context, target string) error {
	return n.act(ctx, action.Unban{Target: target})
}

// AddPeers adds peers to the address book.
func (n *Node) AddPeers(ctx context.Context, peers []state.PeerAddr) error {
	return n.act(ctx, action.PeersDiscovered{Peers: peers, Source: "api"})
}

func (n *Node) act(ctx context.Context, a action.Action) error {
	// Refused before it reaches the store: an input the action log could
	// not read back would end the recording.
	if err := action.Recordable(a); err != nil {
		return fmt.Errorf("%w: %v", reducer.ErrInvalid, err)
	}
	var derr error
	if err := n.do(ctx, func() { derr = n.dispatch(a) }); err != nil {
		return err
	}
	return derr
}

// ID is the node's peer ID (after Start).
func (n *Node) ID() state.PeerID { return n.id }

// Addrs are the node's listen addresses with its /p2p/ ID, ready to give
// to another node as a bootstrap address.
func (n *Node) Addrs() []string { return append([]string(nil), n.addrs...) }

// Close tells every peer the node is shutting down, waits briefly for the
// closes, stops the node's goroutine, ends the action log (so that it
// verifies), and stops the host. It returns the first error met,
// including a recording error.
// Close may be called more than once and from several goroutines: the
// first call does the work, the others wait for it and return its result.
func (n *Node) Close() error {
	n.mu.Lock()
	started := n.started
	n.mu.Unlock()
	if !started {
		return nil
	}
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

func (n *Node) close() error {
	// Shutdown is a recorded input: the state machine says goodbye to
	// every peer and, while the closes complete, refuses newcomers and
	// dials no one.
	n.do(context.Background(), func() { n.dispatch(action.Shutdown{}) })
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		remaining := 0
		n.do(context.Background(), func() { remaining = len(n.st.State().Peers) })
		if remaining == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	// Handlers still running are told to stop; their answers go nowhere
	// (sink gives up once stop is closed). Close does not wait for them:
	// a handler that ignores its context must not hold the node open.
	n.stopHandle()
	n.sessions.Close()
	close(n.stop)
	<-n.loopDone

	var errs []error
	if n.rec != nil {
		if n.recErr != nil {
			errs = append(errs, n.recErr)
			n.rec.Abort()
		} else {
			h, sections := n.st.State().Hashes()
			if err := n.rec.End(n.st.LastID(), h, sections); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := n.svc.Shutdown(); err != nil {
		errs = append(errs, err)
	}
	n.subsMu.Lock()
	n.subsClosed = true
	for _, list := range n.subs {
		for _, s := range list {
			s.end(ErrClosed)
		}
	}
	n.subsMu.Unlock()
	n.peerEvents.close()
	n.log.Info("node stopped", "id", n.id, "actions", n.st.LastID())
	return errors.Join(errs...)
}

// PeerAddr splits "…/p2p/<id>" into the peer ID and the transport address.
func PeerAddr(addr string) (state.PeerID, string, error) {
	boot, err := ParseBootstrap([]string{addr})
	if err != nil {
		return "", "", err
	}
	return boot[0].ID, string(boot[0].Addrs[0]), nil
}

// keepPreviousLog moves an existing action log at path aside, to path.1
// (or .2, …: the first free name), so that restarting a node with the same
// Record path — after a crash, when the old log matters most — never
// overwrites what the last run recorded. It returns the new name, or "" if
// there was nothing to keep.
func keepPreviousLog(path string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && fi.Mode().IsRegular() && fi.Size() == 0) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("action log %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("action log %s: not a regular file", path)
	}
	for i := 1; i < 10000; i++ {
		aside := fmt.Sprintf("%s.%d", path, i)
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			if err := os.Rename(path, aside); err != nil {
				return "", fmt.Errorf("action log %s: keeping the previous log: %w", path, err)
			}
			return aside, nil
		}
	}
	return "", fmt.Errorf("action log %s: %s.1 to .9999 are all taken; move the old logs away", path, path)
}
