package node_test

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"slices"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/node"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// Hostile peers over real go-libp2p on 127.0.0.1 (issue "Hostile peers"):
// each test has an honest node or two beside the hostile peer and checks
// they are undisturbed, and every log verifies.

// A peer announcing the CIDv1 text of an honest connected peer's ID: the
// alias is malformed (its sender is banned), never dialled, and the honest
// peer's connection survives past every dial and close timeout.
func TestAliasOfConnectedPeerIsRefused(t *testing.T) {
	c := newCluster(t)
	rules := state.DefaultConfig("test")
	rules.DialTimeout, rules.DisconnectTimeout = 2*time.Second, 3*time.Second
	a := c.start("a", &rules)
	b := c.start("b", &rules, a)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool { return readyWith(a, b.ID()) })

	r := newRawPeer(t)
	r.connect(a)
	r.hello("test", time.Now().Unix())
	r.waitMsg("HelloAck", func(m message.Message) bool { _, ok := m.(message.HelloAck); return ok })
	bid, err := peer.Decode(string(b.ID()))
	if err != nil {
		t.Fatal(err)
	}
	alias := peer.ToCid(bid).String()
	if alias == string(b.ID()) {
		t.Fatalf("the alias %s is the ID itself", alias)
	}
	r.send(message.AddrAnnounce{Peers: []state.PeerAddr{{ID: state.PeerID(alias), Addrs: []state.Addr{state.Addr(b.Addrs()[0][:len(b.Addrs()[0])-len(b.ID())-len("/p2p/")])}}}})
	if reason := r.disconnectReason(); reason != state.ReasonMisbehaviour {
		t.Errorf("the announcer was dropped with %q, want misbehaviour", reason)
	}
	if n := counters(a).Offences[state.OffenceMalformed]; n != 1 {
		t.Errorf("%d malformed offences, want 1", n)
	}
	// Longer than a dial and a close timeout: nothing the alias could have
	// set off has closed the honest connection.
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if !readyWith(a, b.ID()) || !readyWith(b, a.ID()) {
			t.Fatalf("the honest connection a–b went down: %v", describePeers(a, b)())
		}
	}
	a.State(t.Context(), func(s *state.State) {
		if _, ok := s.Peers[state.PeerID(alias)]; ok {
			t.Errorf("the alias is in the peer table")
		}
		if _, ok := s.Discovery.Book[state.PeerID(alias)]; ok {
			t.Errorf("the alias is in the address book")
		}
	})
	c.closeAndVerify()
}

// rawGossip is a raw peer with a GossipSub router of its own.
type rawGossip struct {
	*rawPeer
	ps    *pubsub.PubSub
	topic *pubsub.Topic
}

func newRawGossip(t *testing.T, ch state.Channel, opts ...pubsub.Option) *rawGossip {
	t.Helper()
	r := newRawPeer(t)
	ps, err := pubsub.NewGossipSub(t.Context(), r.h, append([]pubsub.Option{pubsub.WithMaxMessageSize(11 << 20)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(p2p.Topic("test", state.MinaChannels()[ch-1].Name, 1))
	if err != nil {
		t.Fatal(err)
	}
	return &rawGossip{rawPeer: r, ps: ps, topic: topic}
}

// join connects to n, says Hello and waits until n is on the topic.
func (g *rawGossip) join(n *testNode) {
	g.t.Helper()
	g.connect(n)
	g.hello("test", time.Now().Unix())
	waitFor(g.t, 15*time.Second, func() string { return "the raw peer to see the node on its topic" }, func() bool {
		return len(g.topic.ListPeers()) > 0
	})
}

// subscribe subscribes and waits until n sees the subscription: then n
// has taken in the router's own GossipSub stream, which cannot arrive
// later and reset a stream the test writes by hand.
func (g *rawGossip) subscribe(n *testNode, ch state.Channel) {
	g.t.Helper()
	sub, err := g.topic.Subscribe()
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(sub.Cancel)
	waitFor(g.t, 15*time.Second, func() string { return "the node to see the raw peer on the topic" }, func() bool {
		return slices.Contains(n.BroadcastPeers(ch), state.PeerID(g.h.ID().String()))
	})
}

// Unsigned broadcasts and broadcasts with a bad signature are refused by
// GossipSub before any validator; the state machine hears of them in
// counts and bans the sender.
func TestInvalidSignaturesScoreTheSender(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	sub := b.Subscribe(channel.Transaction)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool {
		return readyWith(a, b.ID()) && len(a.BroadcastPeers(channel.Transaction)) == 1
	})

	t.Run("unsigned", func(t *testing.T) {
		r := newRawGossip(t, channel.Transaction, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithNoAuthor())
		r.join(a)
		if err := r.topic.Publish(t.Context(), []byte("unsigned")); err != nil {
			t.Fatal(err)
		}
		r.waitDisconnect("an unsigned broadcast")
	})
	t.Run("bad signature", func(t *testing.T) {
		r := newRawGossip(t, channel.Transaction)
		r.join(a)
		r.subscribe(a, channel.Transaction)
		// A message signed by r, then changed: the signature no longer
		// matches. Written to GossipSub's stream by hand.
		// The raw peer's Ed25519 key is inlined in its ID: no Key field.
		msg := &pb.Message{From: []byte(r.h.ID()), Data: []byte("tampered"), Seqno: binary.BigEndian.AppendUint64(nil, 1),
			Topic: proto.String(p2p.Topic("test", "transaction", 1)), Signature: bytes.Repeat([]byte{7}, 64)}
		rpc, _ := proto.Marshal(&pb.RPC{Publish: []*pb.Message{msg}})
		send := func() {
			if st, err := r.h.NewStream(t.Context(), r.target, pubsub.GossipSubID_v11); err == nil {
				st.Write(append(binary.AppendUvarint(nil, uint64(len(rpc))), rpc...))
			}
		}
		// The node's GossipSub keeps one inbound stream per peer: this
		// one resets the raw peer's router's stream, and the router opens
		// a new one at once, which may in turn reset this one before the
		// node has read it (seen once in CI under load: the message was
		// never counted). Until the node counts it, send it again on a
		// fresh stream every second.
		before := counters(a).GossipInvalid
		send()
		last := time.Now()
		waitFor(t, 15*time.Second, func() string { return "the node to count the broadcast with a bad signature" }, func() bool {
			if counters(a).GossipInvalid > before {
				return true
			}
			if time.Since(last) > time.Second {
				send()
				last = time.Now()
			}
			return false
		})
		r.waitDisconnect("a broadcast with a bad signature")
	})

	if n := counters(a).Offences[state.OffenceMalformed]; n != 2 {
		t.Errorf("%d malformed offences, want 2 (one per sender)", n)
	}
	if n := counters(a).GossipInvalid; n < 2 {
		t.Errorf("%d invalid broadcasts counted, want 2", n)
	}
	// The honest pair still gossips.
	if err := a.Broadcast(t.Context(), channel.Transaction, []byte("honest")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, sub, "honest")
	c.closeAndVerify()
}

func expectMessage(t *testing.T, sub *node.Subscription, want string) {
	t.Helper()
	for {
		select {
		case m, ok := <-sub.C():
			if !ok {
				t.Fatalf("the subscription ended: %v", sub.Err())
			}
			if string(m.Data) == want {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q never arrived", want)
		}
	}
}

// A channel with an application validator: what it accepts is delivered
// and relayed; what it rejects is neither, and costs its sender; a banned
// peer's broadcast never reaches the application.
func TestValidatorVerdictsAndBannedSenders(t *testing.T) {
	c := newCluster(t)
	validate := func(_ state.PeerID, data []byte) state.Verdict {
		if bytes.HasPrefix(data, []byte("bad")) {
			return state.VerdictReject
		}
		return state.VerdictAccept
	}
	a := c.startWith("a", func(cfg *node.Config) {
		cfg.Validators = map[state.Channel]node.Validator{channel.Transaction: validate}
	}, nil)
	b := c.start("b", nil, a)
	d := c.start("d", nil, a)
	fromA := a.Subscribe(channel.Transaction)
	// The publishers must know a subscribes, not only a that they do: a
	// broadcast published before b's GossipSub has heard a's subscription
	// goes to no one, and once a is in b's mesh no lazy gossip offers it
	// later (failed once in a clean-clone CI run: "good one" never came).
	waitFor(t, 20*time.Second, describePeers(a, b, d), func() bool {
		return readyWith(a, b.ID()) && readyWith(a, d.ID()) && len(a.BroadcastPeers(channel.Transaction)) == 2 &&
			slices.Contains(b.BroadcastPeers(channel.Transaction), a.ID()) &&
			slices.Contains(d.BroadcastPeers(channel.Transaction), a.ID())
	})
	// b's broadcasts reach d directly too; what matters is what a does.
	if err := b.Broadcast(t.Context(), channel.Transaction, []byte("bad one")); err != nil {
		t.Fatal(err)
	}
	if err := b.Broadcast(t.Context(), channel.Transaction, []byte("good one")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, fromA, "good one")
	waitFor(t, 10*time.Second, func() string { return "a to score b for the rejected broadcast" }, func() bool {
		return counters(a).Offences[state.OffenceRejected] == 1
	})
	var score int
	a.State(t.Context(), func(s *state.State) { score = s.Peers[b.ID()].Score })
	if want := state.DefaultConfig("test").ScoreRejected; score != want {
		t.Errorf("b's score at a is %d, want %d", score, want)
	}

	// A banned peer: whatever it manages to send as it is cut off is not
	// delivered.
	r := newRawGossip(t, channel.Transaction)
	r.join(a)
	if err := a.Ban(t.Context(), string(r.h.ID().String()), time.Hour, "test"); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		r.topic.Publish(t.Context(), []byte("from the banned peer "+string(rune('a'+i%26))))
		if i == 25 {
			r.h.Connect(t.Context(), peer.AddrInfo{ID: r.target, Addrs: r.h.Peerstore().Addrs(r.target)})
		}
	}
	if err := d.Broadcast(t.Context(), channel.Transaction, []byte("after the ban")); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case m := <-fromA.C():
			if bytes.HasPrefix(m.Data, []byte("from the banned peer")) {
				t.Fatalf("a delivered %q", m.Data)
			}
			if string(m.Data) == "after the ban" {
				c.closeAndVerify()
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("d's broadcast never reached a")
		}
	}
}

// A peer subscribing to 100,000 topics in one RPC, or in many small ones,
// is cut off; the node keeps none of them.
func TestSubscriptionFloodIsCutOff(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", nil)
	b := c.start("b", nil, a)
	sub := b.Subscribe(channel.Block)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool {
		return readyWith(a, b.ID()) && len(a.BroadcastPeers(channel.Block)) == 1
	})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := heap()
	subscribe := func(r *rawPeer, rpcs, per int) {
		st, err := r.h.NewStream(t.Context(), r.target, pubsub.GossipSubID_v11)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range rpcs {
			var subs []*pb.RPC_SubOpts
			for range per {
				n++
				subs = append(subs, &pb.RPC_SubOpts{Subscribe: proto.Bool(true), Topicid: proto.String("/junk/" + itoa(n))})
			}
			b, _ := proto.Marshal(&pb.RPC{Subscriptions: subs})
			if _, err := st.Write(append(binary.AppendUvarint(nil, uint64(len(b))), b...)); err != nil {
				return // cut off
			}
		}
	}
	for _, tc := range []struct {
		name      string
		rpcs, per int
	}{{"one RPC", 1, 100_000}, {"1,000 RPCs", 1000, 100}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRawPeer(t)
			r.connect(a)
			r.hello("test", time.Now().Unix())
			r.waitMsg("HelloAck", func(m message.Message) bool { _, ok := m.(message.HelloAck); return ok })
			subscribe(r, tc.rpcs, tc.per)
			r.waitDisconnect("100,000 subscriptions")
		})
	}
	if n := counters(a).Offences[state.OffenceOversized]; n != 2 {
		t.Errorf("%d oversized offences, want 2", n)
	}
	if grown := int64(heap()) - int64(before); grown > 8<<20 {
		t.Errorf("the heap grew by %d MiB", grown>>20)
	}
	if err := a.Broadcast(t.Context(), channel.Block, []byte("still gossiping")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.C():
		if string(m.Data) != "still gossiping" {
			t.Errorf("b got %q", m.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b did not receive a's block")
	}
	c.closeAndVerify()
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// A ready peer that trickles a frame a byte at a time is dropped as slow
// once the frame's deadline passes (FrameTimeout plus its size at
// MinFrameRate), with the reducer's reason.
func TestTricklingFrameIsDroppedAsSlow(t *testing.T) {
	c := newCluster(t)
	rules := state.DefaultConfig("test")
	rules.FrameTimeout = 2 * time.Second
	a := c.start("a", &rules)
	r := newRawPeer(t)
	r.connect(a)
	r.hello("test", time.Now().Unix())
	r.waitMsg("HelloAck", func(m message.Message) bool { _, ok := m.(message.HelloAck); return ok })
	id := state.PeerID(r.h.ID().String())
	waitFor(t, 10*time.Second, describePeers(a), func() bool { return readyWith(a, id) })
	// A 1000-byte frame on the sync channel, one byte a second.
	r.frame(byte(channel.Sync), 1000, nil)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
				r.out.Write([]byte{0})
			}
		}
	}()
	waitFor(t, 15*time.Second, describePeers(a), func() bool { return !readyWith(a, id) })
	if n := counters(a).Disconnects[state.ReasonSlowPeer]; n != 1 {
		t.Errorf("%d peers dropped as slow, want 1; disconnects %v", n, counters(a).Disconnects)
	}
	c.closeAndVerify()
}
