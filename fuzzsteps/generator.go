package fuzzsteps

import (
	"fmt"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// Network is the network name of DefaultConfig.
const Network = "fuzznet"

// Epoch is the time, in ns since the Unix epoch, at which the harness's
// node starts (2026-01-01T00:00:00Z).
const Epoch = int64(1767225600) * int64(time.Second)

// The cast the generator draws from. Peers: p0…p5 and the node itself
// (DefaultSelf's ID). Addresses: p1 and p2 share a /16, p5 is loopback, the
// last is the one DefaultSelf listens on.
var (
	peers = []state.PeerID{"p0", "p1", "p2", "p3", "p4", "p5", "self"}
	addrs = []state.Addr{
		"/ip4/10.1.0.1/tcp/4001", "/ip4/10.2.0.1/tcp/4001", "/ip4/10.2.0.2/tcp/4001",
		"/ip4/10.3.0.1/tcp/4001", "/ip6/2001:db8::1/tcp/4001", "/ip4/127.0.0.1/tcp/7005",
		"/ip4/10.0.0.1/tcp/4001",
	}
	steps = []time.Duration{0, time.Millisecond, 100 * time.Millisecond, time.Second,
		5 * time.Second, 11 * time.Second, 31 * time.Second, 61 * time.Second, 25 * time.Hour}
)

// DefaultConfig is a node of network Network with small limits, so that
// queues fill, address books evict and bans expire within a short input.
// Its bootnode is p0, one of the peers the generator plays.
func DefaultConfig() state.Config {
	c := state.DefaultConfig(Network)
	c.OutboundTarget, c.MaxInbound, c.MaxPendingInbound, c.MaxDialsPerTick = 3, 3, 2, 2
	c.AddrBookNew, c.AddrBookTried, c.AddrBookPerGroup = 6, 3, 2
	c.MaxAddrList, c.MaxAddrAnnounce = 5, 3
	for ch := range c.Channels {
		c.Channels[ch].QueueLimit = 2
	}
	c.Channels[channel.Block].MaxSize = 64
	// Budgets small enough that a short input throttles peers, and one
	// channel with an application validator.
	c.Channels[state.ChannelControl].Budget = state.Budget{Msgs: 8, Burst: time.Second}
	c.Channels[channel.Block].Budget = state.Budget{Msgs: 3, Bytes: 256, Burst: time.Second}
	c.Channels[channel.SnarkWork].Validated = true
	// A request channel, FetchChannel, with room for two requests each way.
	c.Channels = append(c.Channels, state.ChannelConfig{Name: "fetch", Kind: state.Request, Version: 1,
		MaxSize: 32, QueueLimit: 2, Budget: state.Budget{Msgs: 4, Burst: time.Second}})
	c.RequestTimeout, c.MaxRequestsPerPeer = 5*time.Second, 2
	c.MaxPendingBytes = 100
	c.Bootnodes = []state.PeerAddr{{ID: peers[0], Addrs: []state.Addr{addrs[0]}}}
	return c
}

// FetchChannel is DefaultConfig's request channel.
const FetchChannel state.Channel = 5

// DefaultSelf is the node under test: ID "self", listening on
// /ip4/10.0.0.1/tcp/4001. The generator also uses this ID and this address
// for peers now and then, to test self-connection.
func DefaultSelf() state.Self {
	return state.Self{ID: "self", ListenAddrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}
}

// Generator turns bytes into a sequence of input actions: any action in any
// state, the way a hostile network and a careless caller could produce
// them. Each byte is one choice; when the bytes run out every choice is 0
// and Done reports it.
//
// The generator knows the protocol well enough to get deep: it answers
// pings with the outstanding nonce, sends Hellos that pass or fail each
// check, and echoes our own Hello nonce back. It plays peers p0…p5 and
// "self" at fixed addresses; a node configured with DefaultConfig and
// DefaultSelf meets all of its cases.
//
// The mapping from bytes to actions is stable: a saved fuzz corpus entry
// means the same sequence in every version that keeps it. Change it only
// together with the corpora (testdata/fuzz) that depend on it.
type Generator struct {
	data []byte
	pos  int
	msg  uint64 // the last broadcast number handed out
}

// NewGenerator returns a generator that reads its choices from data.
func NewGenerator(data []byte) *Generator { return &Generator{data: data} }

// Done reports whether the input is used up.
func (g *Generator) Done() bool { return g.pos >= len(g.data) }

// Next returns the next input action for a node in state s, and how far
// to move the clock before dispatching it (often 0). It reads s only to
// make protocol-aware messages (the right nonces, plausible clocks) and
// never changes it.
func (g *Generator) Next(s *state.State) (step time.Duration, a action.Action) {
	step = steps[g.intn(len(steps))]
	step *= time.Duration(g.intn(2))
	return step, g.action(s)
}

func (g *Generator) byte() byte {
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return b
}

func (g *Generator) intn(n int) int { return int(g.byte()) % n }

func (g *Generator) peer() state.PeerID { return peers[g.intn(len(peers))] }

func (g *Generator) addr() state.Addr { return addrs[g.intn(len(addrs))] }

func (g *Generator) peerAddrs(max int) []state.PeerAddr {
	n := g.intn(max + 1)
	out := make([]state.PeerAddr, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, state.PeerAddr{ID: g.peer(), Addrs: []state.Addr{g.addr()}})
	}
	return out
}

func (g *Generator) bytes(max int) []byte {
	n := g.intn(max + 1)
	out := make([]byte, n)
	for i := range out {
		out[i] = g.byte()
	}
	return out
}

func (g *Generator) channel() state.Channel {
	return state.Channel(g.intn(len(state.MinaChannels()) + 2))
}

// action generates one input action.
func (g *Generator) action(s *state.State) action.Action {
	p := g.peer()
	op := g.intn(32)
	if op >= 24 {
		if a := g.progress(s); a != nil {
			return a
		}
		op = 0
	}
	switch op {
	case 0, 1:
		return action.Tick{}
	case 2:
		return action.Connect{Peer: p, Addrs: []state.Addr{g.addr()}, Manual: g.intn(4) == 0}
	case 3:
		return action.Connected{Peer: p, Addr: g.addr()}
	case 4:
		return action.ConnectionFailed{Peer: p, Error: "refused"}
	case 5:
		return action.IncomingConnection{Peer: p, Addr: g.addr(), Outbound: g.intn(5) == 0}
	case 6:
		return action.Disconnect{Peer: p, Reason: state.Reason(g.intn(int(state.NumReasons) + 1))}
	case 7:
		return action.Disconnected{Peer: p, Error: "gone"}
	case 8, 9, 10, 11:
		return action.MessageReceived{Peer: p, Channel: state.ChannelControl, Data: g.control(s, p)}
	case 12:
		return action.MessageReceived{Peer: p, Channel: g.channel(), Data: g.bytes(80)}
	case 13:
		return action.BroadcastMessage{Channel: g.channel(), Data: g.bytes(80)}
	case 14:
		return action.SendMessage{Peer: p, Channel: g.channel(), Data: g.bytes(16)}
	case 15:
		switch g.intn(4) {
		case 0:
			return action.Sent{Peer: p, Channel: g.channel(), Count: uint32(g.intn(3))}
		case 1:
			if g.intn(2) == 0 {
				p = ""
			}
			return action.Expired{Peer: p, Channel: g.channel(), Count: uint32(g.intn(3))}
		}
		return action.Published{Channel: g.channel(), Count: uint32(g.intn(3))}
	case 16:
		return action.FrameRejected{Peer: p, Channel: g.channel(), Size: uint64(g.intn(4)) << 20, Reason: "bad frame"}
	case 17:
		target := string(p)
		if g.intn(2) == 0 {
			target = state.AddrHost(g.addr())
		}
		if g.intn(3) == 0 {
			return action.Unban{Target: target}
		}
		return action.Ban{Target: target, Duration: steps[g.intn(len(steps))], Reason: "fuzz"}
	case 18:
		return action.PeersDiscovered{Peers: g.peerAddrs(4), Source: "fuzz"}
	case 19:
		return g.gossip(p, g.channel())
	case 20:
		if g.intn(2) == 0 {
			return action.SendFailed{Peer: p, Channel: g.channel(), Count: uint32(g.intn(3)), Error: "fuzz"}
		}
		return action.PublishFailed{Channel: g.channel(), Count: uint32(g.intn(3)), Error: "fuzz"}
	case 21:
		if g.intn(2) == 0 {
			return action.WriteStalled{Peer: p, Gossip: g.intn(2) == 0, Queued: uint32(g.intn(9))}
		}
		return action.ReadStalled{Peer: p, Channel: g.channel(), Size: uint64(g.intn(100)), Received: uint64(g.intn(50))}
	case 22:
		if g.intn(2) == 0 {
			return action.StreamOpened{Peer: p, Stream: uint64(g.intn(4)), Protocol: "/p2pcore/direct/2"}
		}
		return action.StreamClosed{Peer: p, Stream: uint64(g.intn(4))}
	case 23:
		if r := g.intn(3); r == 2 {
			return g.session(s, p)
		} else if r == 0 {
			msg := uint64(g.intn(int(g.msg) + 2))
			if pending := state.SortedKeys(s.Gossip.Pending); len(pending) > 0 && g.intn(4) != 0 {
				msg = pending[g.intn(len(pending))]
			}
			return action.GossipValidated{Msg: msg, Verdict: state.Verdict(g.intn(4))}
		}
		return action.GossipStats{Peer: p, Invalid: uint32(g.intn(2)) * uint32(g.intn(2)), Oversized: uint32(g.intn(2)) * uint32(g.intn(2)),
			Duplicates: uint32(g.intn(5)), DuplicateBytes: uint64(g.intn(500)), Dropped: uint32(g.intn(3)), DroppedBytes: uint64(g.intn(300))}
	default:
		if g.intn(8) == 0 {
			// Rare: a stopped node accepts almost nothing after it.
			return action.Shutdown{}
		}
		var ps state.PeerStore
		for _, pa := range g.peerAddrs(3) {
			ps.Entries = append(ps.Entries, state.AddrEntry{ID: pa.ID, Addrs: pa.Addrs, Tried: g.intn(2) == 0,
				Failures: g.intn(3), RetryAt: s.Now + int64(g.intn(30))*int64(time.Second)})
		}
		if g.intn(2) == 0 {
			ps.Bans = append(ps.Bans, state.BanEntry{Target: string(g.peer()), Ban: state.Ban{Until: s.Now + int64(time.Hour)}})
		}
		return action.PeerStoreLoaded{Store: ps}
	}
}

// session is a session action: a network started, a peer's stream, a
// message either way, a close, an end or a failure, mostly on a running
// session and now and then on one that is not.
func (g *Generator) session(s *state.State, p state.PeerID) action.Action {
	id := uint64(g.intn(4))
	if running := state.SortedKeys(s.Sessions.Running); len(running) > 0 && g.intn(4) != 0 {
		id = running[g.intn(len(running))]
	}
	names := []string{"chain-0", "chain-1", "bad name"}
	switch g.intn(8) {
	case 0:
		return action.StartSessions{Network: names[g.intn(len(names))], Target: g.intn(4), Timeout: steps[g.intn(len(steps))],
			BufferMessages: 2, BufferBytes: 64, MaxMessage: g.intn(40),
			Budget: state.Budget{Msgs: g.intn(3), Bytes: g.intn(2) * 64, Burst: steps[g.intn(len(steps))]}}
	case 1:
		return action.SessionIncoming{Peer: p, Network: names[g.intn(len(names))], Stream: uint64(g.intn(8))}
	case 2:
		return action.SessionReceived{ID: id, Data: g.bytes(40)}
	case 3:
		return action.SessionSend{ID: id, Data: g.bytes(40)}
	case 4:
		if g.intn(2) == 0 {
			return action.SessionClose{ID: id}
		}
		return action.SessionPeerClosed{ID: id}
	case 5, 6:
		return action.SessionEnded{ID: id, Outcome: state.SessionOutcome(g.intn(int(state.MaxSessionOutcome) + 1)), Error: "fuzz"}
	}
	return action.SessionFailed{ID: id, Outcome: state.SessionOutcome(g.intn(int(state.MaxSessionOutcome) + 1)), Error: "fuzz"}
}

// gossip is a broadcast relayed by p on ch, with a fresh number.
func (g *Generator) gossip(p state.PeerID, ch state.Channel) action.Action {
	g.msg++
	return action.GossipReceived{Peer: p, Channel: ch, Msg: g.msg, Data: g.bytes(80)}
}

// progress picks a peer in the state and takes its natural next step with
// well-formed values, so random inputs reach ready peers, pings and peer
// exchange instead of stalling at the first handshake.
func (g *Generator) progress(s *state.State) action.Action {
	ids := state.SortedKeys(s.Peers)
	if len(ids) == 0 {
		return action.IncomingConnection{Peer: g.peer(), Addr: g.addr()}
	}
	id := ids[g.intn(len(ids))]
	p := s.Peers[id]
	now := s.Now / int64(time.Second)
	msg := func(m message.Message) action.Action {
		return action.MessageReceived{Peer: id, Channel: state.ChannelControl, Data: message.Marshal(m)}
	}
	switch {
	case p.Status == state.StatusConnecting:
		return action.Connected{Peer: id, Addr: p.Addr}
	case p.Status == state.StatusDisconnecting:
		return action.Disconnected{Peer: id}
	case p.Status == state.StatusHandshaking && p.Handshake.HelloSent:
		return msg(message.HelloAck{Version: 2, Network: s.Config.Network, UnixTime: now, ListenAddrs: []state.Addr{g.addr()}, Channels: g.channels(s)})
	case p.Status == state.StatusHandshaking:
		return msg(message.Hello{Version: 2, Network: s.Config.Network, UnixTime: now,
			ListenAddrs: []state.Addr{g.addr()}, Nonce: uint64(g.byte()) + 1, Channels: g.channels(s)})
	case p.Ping.Outstanding:
		return msg(message.PingResponse{Nonce: p.Ping.Nonce})
	}
	switch g.intn(8) {
	case 6:
		return g.request(s, id)
	case 0:
		return msg(message.AddrListRequest{})
	case 1:
		return msg(message.AddrListResponse{Peers: g.peerAddrs(6)})
	case 2:
		return msg(message.AddrAnnounce{Peers: g.peerAddrs(4)})
	case 3:
		return action.SendMessage{Peer: id, Channel: channel.Sync, Data: g.bytes(8)}
	case 4:
		return action.Sent{Peer: id, Channel: channel.Sync, Count: 1}
	}
	if g.intn(2) == 0 {
		return g.gossip(id, channel.SnarkWork)
	}
	return g.gossip(id, channel.Block)
}

// request is a step of request/response with a ready peer: our request,
// its request, its answer to one of ours (or to none), our answer to one
// of its, or a failed write.
func (g *Generator) request(s *state.State, id state.PeerID) action.Action {
	p := s.Peers[id]
	ours := uint64(g.intn(int(s.Requests.NextID) + 2))
	if out := state.SortedKeys(s.Requests.Out); len(out) > 0 && g.intn(4) != 0 {
		ours = out[g.intn(len(out))]
	}
	theirs := uint64(g.intn(8))
	if open := state.SortedKeys(p.Serving); len(open) > 0 && g.intn(4) != 0 {
		theirs = open[g.intn(len(open))]
	}
	switch g.intn(5) {
	case 0:
		return action.SendRequest{Peer: id, Channel: FetchChannel, Data: g.bytes(40)}
	case 1:
		return action.RequestReceived{Peer: id, Channel: FetchChannel, ID: uint64(g.intn(8)), Data: g.bytes(40)}
	case 2:
		return action.ResponseReceived{Peer: id, Channel: FetchChannel, ID: ours, Status: state.RequestStatus(g.intn(5)), Data: g.bytes(40)}
	case 3:
		return action.SendResponse{Peer: id, Channel: FetchChannel, ID: theirs, Status: state.RequestStatus(g.intn(3)), Data: g.bytes(40)}
	}
	return action.RequestFailed{Peer: id, ID: ours, Error: "fuzz"}
}

// control generates a control message from peer p: mostly well-formed,
// sometimes hostile or garbage.
func (g *Generator) control(s *state.State, p state.PeerID) []byte {
	now := s.Now / int64(time.Second)
	network := s.Config.Network
	if g.intn(6) == 0 {
		network = "othernet"
	}
	skew := int64(g.intn(3)-1) * 11 // -11, 0 or +11 seconds
	var m message.Message
	switch g.intn(11) {
	case 0, 1:
		nonce := uint64(g.byte()) + 1
		if g.intn(4) == 0 { // our own nonce: a connection to ourselves
			for _, id := range state.SortedKeys(s.Peers) {
				if s.Peers[id].Handshake.HelloSent {
					nonce = s.Peers[id].Handshake.Nonce
				}
			}
		}
		m = message.Hello{Version: uint32(g.intn(4)), Network: network, UnixTime: now + skew,
			ListenAddrs: []state.Addr{g.addr()}, Observed: g.addr(), Nonce: nonce, Channels: g.channels(s)}
	case 2, 3:
		m = message.HelloAck{Version: uint32(g.intn(4)), Network: network, UnixTime: now + skew, Observed: g.addr(), Channels: g.channels(s)}
	case 4:
		m = message.PingRequest{Nonce: uint64(g.byte())}
	case 5:
		nonce := uint64(g.byte())
		if peer, ok := s.Peers[p]; ok && g.intn(3) != 0 {
			nonce = peer.Ping.Nonce
		}
		m = message.PingResponse{Nonce: nonce}
	case 6:
		m = message.AddrListRequest{}
	case 7:
		m = message.AddrListResponse{Peers: g.peerAddrs(6)}
	case 8:
		m = message.AddrAnnounce{Peers: g.peerAddrs(4)}
	case 9:
		m = message.Disconnect{Reason: state.Reason(g.byte())}
	default:
		return g.bytes(24) // garbage
	}
	return message.Marshal(m)
}

// Seeds are starting inputs that reach deep states: handshakes in both
// directions, pings, peer exchange, bans. Add them to a fuzz target
// (Harness.AddSeeds) so that plain `go test` runs them.
func Seeds() [][]byte {
	var seeds [][]byte
	for i := 0; i < 24; i++ {
		b := make([]byte, 160+40*(i%8))
		x := uint32(2463534242 + i*7919)
		for j := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[j] = byte(x)
		}
		seeds = append(seeds, b)
	}
	// A scripted run: tick (dial the bootnode), connect, HelloAck, then
	// traffic; each action is (time step, kind, peer, …) bytes.
	seeds = append(seeds, []byte(fmt.Sprint(
		"\x00\x00\x00",                                     // tick at start: dial p0
		"\x00\x03\x00\x01", "\x00\x08\x00\x02\x01\x00\x00", // Connected p0, HelloAck
		"\x06\x05\x01\x03\x01", "\x00\x08\x01\x00\x05\x02\x01\x01", // incoming p1, Hello
		"\x07\x00", "\x00\x08\x01\x05\x01", // a minute on: ping, answer
		"\x00\x0d\x01\x10abcdefghijklmnop", "\x00\x0f\x00\x01\x01",
	)))
	return seeds
}

// channels is a peer's channel list for its handshake: mostly ours, some
// with a channel missing or of another version (a peer of a different
// build), or none.
func (g *Generator) channels(s *state.State) []message.ChannelInfo {
	ours := message.ChannelInfos(&s.Config)
	switch g.intn(8) {
	case 0:
		return nil
	case 1:
		if len(ours) > 1 {
			i := g.intn(len(ours))
			return append(ours[:i:i], ours[i+1:]...)
		}
	case 2:
		if len(ours) > 0 {
			ours[g.intn(len(ours))].Version++
		}
	}
	return ours
}
