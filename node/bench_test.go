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
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/node"
)

// These benchmarks run the node and raw go-libp2p side by side in one run,
// over the same transport stack (TCP on 127.0.0.1, Noise, yamux), and
// report both figures and their ratio. `make bench-net` prints them as a
// table. They assert nothing about time; the burst benchmark does fail if
// the node loses a message, since not losing any is the point.

const benchWait = 2 * time.Minute

// nodePair starts two connected nodes that do not record.
func nodePair(b *testing.B) (a, z *node.Node) {
	b.Helper()
	dir := b.TempDir()
	start := func(name string, boot []string) *node.Node {
		n, err := node.New(node.Config{Network: "bench", Listen: []string{"/ip4/127.0.0.1/tcp/0"},
			Bootstrap: boot, DataDir: dir + "/" + name})
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

// rawHost is a plain go-libp2p host with the node's transport stack.
func rawHost(b *testing.B) host.Host {
	b.Helper()
	h, err := golibp2p.New(
		golibp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		golibp2p.Transport(tcp.NewTCPTransport),
		golibp2p.Security(noise.ID, noise.New),
		golibp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		golibp2p.DisableRelay(),
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

// rawPubSub is two raw hosts with GossipSub in its default configuration
// (flood publishing on, outbound queue of 32) joined to one topic.
type rawPubSub struct {
	pub *pubsub.Topic
	sub *pubsub.Subscription
}

func newRawPubSub(b *testing.B) rawPubSub {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	h1, h2 := rawHost(b), rawHost(b)
	ps1, err := pubsub.NewGossipSub(ctx, h1)
	if err != nil {
		b.Fatal(err)
	}
	ps2, err := pubsub.NewGossipSub(ctx, h2)
	if err != nil {
		b.Fatal(err)
	}
	t1, err := ps1.Join("bench")
	if err != nil {
		b.Fatal(err)
	}
	t2, err := ps2.Join("bench")
	if err != nil {
		b.Fatal(err)
	}
	sub, err := t2.Subscribe()
	if err != nil {
		b.Fatal(err)
	}
	rawConnect(b, h1, h2)
	deadline := time.Now().Add(benchWait)
	for len(t1.ListPeers()) == 0 {
		if time.Now().After(deadline) {
			b.Fatal("raw GossipSub peers did not meet")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return rawPubSub{pub: t1, sub: sub}
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
	raw := newRawPubSub(b)
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	msg := bytes.Repeat([]byte{1}, 1024)
	var ours, theirs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
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
	b.ReportMetric(0, "ns/op")
}

// BenchmarkNetBroadcastBurst: 20,000 × 1 KiB broadcasts as fast as the
// sender can go. Raw GossipSub drops what does not fit its queues; the node
// must deliver every one. The rate counts delivered messages per second
// up to the last delivery.
func BenchmarkNetBroadcastBurst(b *testing.B) {
	const burst = 20000
	a, z := nodePair(b)
	sub := z.Subscribe(channel.Transaction)
	raw := newRawPubSub(b)
	msg := bytes.Repeat([]byte{2}, 1024)
	var oursRate, rawRate float64
	var rawGot int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), benchWait)
		start := time.Now()
		go func() {
			for j := 0; j < burst; j++ {
				if err := a.Broadcast(ctx, channel.Transaction, msg); err != nil {
					b.Error(err)
					return
				}
			}
		}()
		for got := 0; got < burst; got++ {
			select {
			case _, ok := <-sub.C():
				if !ok {
					b.Fatalf("node: subscription ended: %v", sub.Err())
				}
			case <-ctx.Done():
				b.Fatalf("node: only %d of %d delivered", got, burst)
			}
		}
		oursRate += burst / time.Since(start).Seconds()

		start = time.Now()
		go func() {
			for j := 0; j < burst; j++ {
				if err := raw.pub.Publish(ctx, msg); err != nil {
					return
				}
			}
		}()
		got, last := 0, start
		for got < burst {
			// A second without a message after the publisher is done
			// means the rest were dropped.
			nctx, ncancel := context.WithTimeout(ctx, time.Second)
			_, err := raw.sub.Next(nctx)
			ncancel()
			if err != nil {
				break
			}
			got, last = got+1, time.Now()
		}
		cancel()
		rawGot += got
		rawRate += float64(got) / last.Sub(start).Seconds()
	}
	b.StopTimer()
	b.ReportMetric(oursRate/float64(b.N), "node-msg/s")
	b.ReportMetric(rawRate/float64(b.N), "raw-msg/s")
	b.ReportMetric(oursRate/rawRate, "ratio")
	b.ReportMetric(100*(1-float64(rawGot)/float64(burst*b.N)), "raw-lost-%")
	b.ReportMetric(0, "ns/op")
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
	b.SetBytes(size * count)
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
