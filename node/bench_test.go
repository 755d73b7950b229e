package node_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"slices"
	"testing"
	"time"

	golibp2p "github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/node"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// These benchmarks run the node and raw go-libp2p side by side in one run,
// and report both figures and their ratio; `make bench-net` prints them as
// a table. The raw side gets the node's configuration — the same transport
// stack (TCP on 127.0.0.1, Noise, yamux) and the same GossipSub options
// (p2p.PubSubOptions: queue sizes, maximum message size, flood publishing;
// the same subscription buffer and an inline size validator) — so that the
// ratio measures the node's own work, not a difference in settings.
// BenchmarkNetBroadcastBurstRawDefaults runs raw GossipSub alone at its
// defaults, to show what those settings are worth.
//
// ns/op is the time of one iteration, both sides' runs together; the
// figures to compare are the node-… and raw-… metrics and their ratio.
// They assert nothing about time; the burst benchmark does fail if the
// node loses a message, since not losing any is the point.

const benchWait = 2 * time.Minute

// perMessageWait bounds the wait for one message in the latency benchmark.
const perMessageWait = 30 * time.Second

// nodePair starts two connected nodes that do not record.
func nodePair(b *testing.B) (a, z *node.Node) {
	b.Helper()
	dir := b.TempDir()
	// The raw side has no rate limit, so neither does the node's sync
	// channel (by default a peer's bulk transfers are slowed to 64 MiB/s):
	// otherwise BenchmarkNetDirect would measure that budget.
	rules := state.DefaultConfig("bench")
	rules.Channels[channel.Sync].Budget = state.Budget{}
	// Nor do blocks: the latency benchmark sends hundreds a second, and the
	// block channel's budgets (10 a second per peer, 100 in all) would
	// hold the sender back for seconds once the burst is spent, which is
	// the flood control working, not latency.
	rules.Channels[channel.Block].Budget = state.Budget{}
	rules.Channels[channel.Block].Total = state.Budget{}
	start := func(name string, boot []string) *node.Node {
		n, err := node.New(node.Config{Network: "bench", Listen: []string{"/ip4/127.0.0.1/tcp/0"},
			Bootstrap: boot, DataDir: dir + "/" + name, Rules: &rules})
		if err != nil {
			b.Fatal(err)
		}
		if err := n.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close() })
		return n
	}
	a = start("a", nil)
	z = start("z", a.Addrs())
	deadline := time.Now().Add(benchWait)
	for len(a.BroadcastPeers(channel.Block)) == 0 || len(z.BroadcastPeers(channel.Block)) == 0 ||
		len(a.BroadcastPeers(channel.Transaction)) == 0 || len(a.ReadyPeers()) == 0 {
		if time.Now().After(deadline) {
			b.Fatal("nodes did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return a, z
}

// rawHost is a plain go-libp2p host with the node's host options (see
// p2p.New): TCP without SO_REUSEPORT, QUIC, Noise then TLS, yamux, no
// connection manager, no relay, no metrics. Only TCP listens, as the
// node's do here.
func rawHost(b *testing.B) host.Host {
	b.Helper()
	h, err := golibp2p.New(
		golibp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		golibp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		golibp2p.Transport(quic.NewTransport),
		golibp2p.Security(noise.ID, noise.New),
		golibp2p.Security(tls.ID, tls.New),
		golibp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		golibp2p.ConnectionManager(connmgr.NullConnMgr{}),
		golibp2p.DisableRelay(),
		golibp2p.DisableMetrics(),
	)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	return h
}

func rawConnect(b *testing.B, from, to host.Host) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	if err := from.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.Addrs()}); err != nil {
		b.Fatal(err)
	}
}

// rawPubSub is two raw hosts running GossipSub, joined to one topic: the
// first publishes, the second subscribes.
type rawPubSub struct {
	pub *pubsub.Topic
	sub *pubsub.Subscription
}

// newRawPubSub starts raw GossipSub on a broadcast channel's topic. With
// nodeOptions it runs with the node's options, subscription buffer and an
// inline validator checking the channel's size limit, like the node's;
// without, at go-libp2p's defaults (queues of 32, no flood publishing, no
// validator).
func newRawPubSub(b *testing.B, ch state.Channel, nodeOptions bool) rawPubSub {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	// The node's rules: the benchmark nodes do not override them.
	rules := state.DefaultConfig("bench")
	topic := p2p.Topic(rules.Network, rules.Channels[ch].Name, rules.Channels[ch].Version)
	var opts []pubsub.Option
	var subOpts []pubsub.SubOpt
	if nodeOptions {
		opts = p2p.PubSubOptions(p2p.DefaultPubSubQueue, rules.MaxMessageSize)
		subOpts = p2p.SubscribeOptions(p2p.DefaultPubSubQueue)
	}
	h1, h2 := rawHost(b), rawHost(b)
	var topics [2]*pubsub.Topic
	for i, h := range []host.Host{h1, h2} {
		ps, err := pubsub.NewGossipSub(ctx, h, opts...)
		if err != nil {
			b.Fatal(err)
		}
		if nodeOptions {
			limit := rules.Channels[ch].MaxSize
			validate := func(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
				if len(msg.Data) <= limit {
					return pubsub.ValidationAccept
				}
				return pubsub.ValidationReject
			}
			if err := ps.RegisterTopicValidator(topic, validate, p2p.ValidatorOptions()...); err != nil {
				b.Fatal(err)
			}
		}
		if topics[i], err = ps.Join(topic); err != nil {
			b.Fatal(err)
		}
	}
	sub, err := topics[1].Subscribe(subOpts...)
	if err != nil {
		b.Fatal(err)
	}
	rawConnect(b, h1, h2)
	deadline := time.Now().Add(benchWait)
	for len(topics[0].ListPeers()) == 0 {
		if time.Now().After(deadline) {
			b.Fatal("raw GossipSub peers did not meet")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Without flood publishing a publication goes only to the mesh, which
	// the first heartbeat forms: until one gets through, nothing would.
	// (A probe that does not arrive within a second was sent to no one.)
	for {
		if time.Now().After(deadline) {
			b.Fatal("raw GossipSub: no message got through")
		}
		if err := topics[0].Publish(ctx, []byte("probe")); err != nil {
			b.Fatal(err)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		_, err := sub.Next(pctx)
		pcancel()
		if err == nil {
			break
		}
	}
	return rawPubSub{pub: topics[0], sub: sub}
}

// burst publishes n copies of msg as fast as Publish returns and counts
// what arrives: a second without a message means the rest were dropped.
// The rate counts delivered messages per second up to the last delivery.
func (r rawPubSub) burst(ctx context.Context, msg []byte, n int) (got int, rate float64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the publisher if we give up first
	start := time.Now()
	go func() {
		for j := 0; j < n; j++ {
			if err := r.pub.Publish(ctx, msg); err != nil {
				return
			}
		}
	}()
	last := start
	for got < n {
		nctx, ncancel := context.WithTimeout(ctx, time.Second)
		_, err := r.sub.Next(nctx)
		ncancel()
		if err != nil {
			break
		}
		got, last = got+1, time.Now()
	}
	if got == 0 {
		return 0, 0
	}
	return got, float64(got) / last.Sub(start).Seconds()
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkNetBroadcastLatency: one 1 KiB message, one hop. Each iteration
// sends one through the node (Broadcast → remote Subscribe) and one through
// raw GossipSub (Publish → Next), and waits for each to arrive.
func BenchmarkNetBroadcastLatency(b *testing.B) {
	a, z := nodePair(b)
	sub := z.Subscribe(channel.Block)
	raw := newRawPubSub(b, channel.Block, true)
	msg := bytes.Repeat([]byte{1}, 1024)
	var ours, theirs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A deadline per message, not one for the whole run: on a slow
		// machine 300 round trips with a few long stalls could outlast
		// a shared one, which then failed a message that was not lost.
		ctx, cancel := context.WithTimeout(context.Background(), perMessageWait)
		defer cancel()
		binary.BigEndian.PutUint64(msg, uint64(i))
		start := time.Now()
		if err := a.Broadcast(ctx, channel.Block, msg); err != nil {
			b.Fatal(err)
		}
		select {
		case <-sub.C():
			ours = append(ours, time.Since(start))
		case <-ctx.Done():
			b.Fatal("node: broadcast not delivered")
		}
		start = time.Now()
		if err := raw.pub.Publish(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := raw.sub.Next(ctx); err != nil {
			b.Fatal("raw: ", err)
		}
		theirs = append(theirs, time.Since(start))
	}
	b.StopTimer()
	n, r := median(ours), median(theirs)
	b.ReportMetric(float64(n.Microseconds()), "node-µs")
	b.ReportMetric(float64(r.Microseconds()), "raw-µs")
	b.ReportMetric(float64(n)/float64(r), "ratio")
	// The slowest message of each side: a stall leaves the medians alone
	// but should be seen (the block budgets above once held one message
	// of each run back for 12–19 s).
	b.ReportMetric(float64(slices.Max(ours).Milliseconds()), "node-max-ms")
	b.ReportMetric(float64(slices.Max(theirs).Milliseconds()), "raw-max-ms")
}

// burstSize is the number of 1 KiB broadcasts in a burst.
const burstSize = 20000

// BenchmarkNetBroadcastBurst: 20,000 × 1 KiB broadcasts as fast as the
// sender can go, through the node and through raw GossipSub with the
// node's options. The node must deliver every one; raw GossipSub drops
// what does not fit its queues (with queues this large, nothing is
// expected to), and its losses are reported. The rate counts delivered
// messages per second up to the last delivery.
func BenchmarkNetBroadcastBurst(b *testing.B) {
	a, z := nodePair(b)
	sub := z.Subscribe(channel.Transaction)
	raw := newRawPubSub(b, channel.Transaction, true)
	msg := bytes.Repeat([]byte{2}, 1024)
	var oursRate, rawRate float64
	var rawGot int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), benchWait)
		start := time.Now()
		go func() {
			for j := 0; j < burstSize; j++ {
				if err := a.Broadcast(ctx, channel.Transaction, msg); err != nil {
					b.Error(err)
					return
				}
			}
		}()
		for got := 0; got < burstSize; got++ {
			select {
			case _, ok := <-sub.C():
				if !ok {
					b.Fatalf("node: subscription ended: %v", sub.Err())
				}
			case <-ctx.Done():
				b.Fatalf("node: only %d of %d delivered", got, burstSize)
			}
		}
		oursRate += burstSize / time.Since(start).Seconds()

		got, rate := raw.burst(ctx, msg, burstSize)
		cancel()
		rawGot += got
		rawRate += rate
	}
	b.StopTimer()
	b.ReportMetric(oursRate/float64(b.N), "node-msg/s")
	b.ReportMetric(rawRate/float64(b.N), "raw-msg/s")
	b.ReportMetric(oursRate/rawRate, "ratio")
	b.ReportMetric(100*(1-float64(rawGot)/float64(burstSize*b.N)), "raw-lost-%")
}

// BenchmarkNetBroadcastBurstRawDefaults: the same burst through raw
// GossipSub alone, at go-libp2p's defaults (per-peer outbound, validation
// and subscription queues of 32; no flood publishing; no validator). It
// shows what the defaults lose, which is why the node does not run with
// them; it is not compared with the node.
func BenchmarkNetBroadcastBurstRawDefaults(b *testing.B) {
	raw := newRawPubSub(b, channel.Transaction, false)
	msg := bytes.Repeat([]byte{2}, 1024)
	var rawRate float64
	var rawGot int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), benchWait)
		got, rate := raw.burst(ctx, msg, burstSize)
		cancel()
		rawGot += got
		rawRate += rate
	}
	b.StopTimer()
	b.ReportMetric(rawRate/float64(b.N), "raw-msg/s")
	b.ReportMetric(100*(1-float64(rawGot)/float64(burstSize*b.N)), "raw-lost-%")
}

// BenchmarkNetDirect: 256 MiB in 1 MiB direct messages, node Send →
// remote Subscribe vs length-prefixed messages on one raw libp2p stream.
func BenchmarkNetDirect(b *testing.B) {
	const size, count = 1 << 20, 256
	a, z := nodePair(b)
	sub := z.Subscribe(channel.Sync)
	h1, h2 := rawHost(b), rawHost(b)
	received := make(chan int, 1)
	h2.SetStreamHandler("/bench/direct/1", func(s network.Stream) {
		defer s.Close()
		var hdr [4]byte
		total := 0
		for {
			if _, err := io.ReadFull(s, hdr[:]); err != nil {
				break
			}
			buf := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(s, buf); err != nil {
				break
			}
			total += len(buf)
		}
		received <- total
	})
	rawConnect(b, h1, h2)
	msg := bytes.Repeat([]byte{3}, size)
	var ours, theirs float64
	// No SetBytes: go test would divide the bytes of one side by the time
	// of both and print a MB/s that is neither's.
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), benchWait)
		start := time.Now()
		go func() {
			for j := 0; j < count; j++ {
				if err := a.Send(ctx, z.ID(), channel.Sync, msg); err != nil {
					b.Error(err)
					return
				}
			}
		}()
		for got := 0; got < count; got++ {
			select {
			case m := <-sub.C():
				if len(m.Data) != size {
					b.Fatalf("node: got %d bytes", len(m.Data))
				}
			case <-ctx.Done():
				b.Fatalf("node: %d of %d messages", got, count)
			}
		}
		ours += float64(size*count) / time.Since(start).Seconds()

		start = time.Now()
		s, err := h1.NewStream(ctx, h2.ID(), "/bench/direct/1")
		if err != nil {
			b.Fatal(err)
		}
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], size)
		for j := 0; j < count; j++ {
			if _, err := s.Write(hdr[:]); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Write(msg); err != nil {
				b.Fatal(err)
			}
		}
		s.CloseWrite()
		if got := <-received; got != size*count {
			b.Fatalf("raw: %d bytes", got)
		}
		theirs += float64(size*count) / time.Since(start).Seconds()
		s.Close()
		cancel()
	}
	b.StopTimer()
	b.ReportMetric(ours/float64(b.N)/(1<<20), "node-MiB/s")
	b.ReportMetric(theirs/float64(b.N)/(1<<20), "raw-MiB/s")
	b.ReportMetric(ours/theirs, "ratio")
}
