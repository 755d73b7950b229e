package store_test

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// readyNode returns a store with n ready inbound peers. With a path, the
// node records everything (its set-up included) to a log there.
func readyNode(tb testing.TB, n int, path string) (*store.Store, *testClock, *replay.Writer, []state.PeerID) {
	cfg := state.DefaultConfig("bench")
	cfg.MaxInbound, cfg.MaxPendingInbound = n, n
	self := state.Self{ID: "self", ListenAddrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}
	st := state.New(cfg, self, 1, fuzzsteps.Epoch)
	clock := &testClock{t: fuzzsteps.Epoch}
	opts := store.Options{CheckpointEvery: 4096}
	var w *replay.Writer
	if path != "" {
		var err error
		if w, err = replay.Create(path, replay.NewHeader(st, 1, opts.CheckpointEvery)); err != nil {
			tb.Fatal(err)
		}
		opts.Observer = w
	}
	s := store.New(st, nil, clock, opts)
	ids := make([]state.PeerID, n)
	for i := range ids {
		ids[i] = state.PeerID(fmt.Sprintf("12D3KooWPeer%040d", i))
		addr := state.Addr(fmt.Sprintf("/ip4/10.%d.%d.1/tcp/4001", i/250+1, i%250))
		s.Dispatch(action.IncomingConnection{Peer: ids[i], Addr: addr})
		hello := message.Hello{Version: 2, Network: "bench", UnixTime: fuzzsteps.Epoch / 1e9, Nonce: uint64(i + 1), Channels: message.ChannelInfos(&st.Config)}
		s.Dispatch(action.MessageReceived{Peer: ids[i], Channel: state.ChannelControl, Data: message.Marshal(hello)})
	}
	if got := s.State().Counts().Ready; got != n {
		tb.Fatalf("%d peers ready, want %d", got, n)
	}
	return s, clock, w, ids
}

// traffic dispatches n direct messages (MessageReceived on the sync
// channel) from the ready peers, round robin, 128-byte payloads, 10 µs
// apart: each peer sends 1,000 a second, within its budget.
func traffic(s *store.Store, clock *testClock, ids []state.PeerID, n int) {
	data := make([]byte, 128)
	for i := 0; i < n; i++ {
		clock.t += 10_000
		s.Dispatch(action.MessageReceived{Peer: ids[i%len(ids)], Channel: channel.Sync, Data: data})
	}
}

// gossip dispatches n broadcasts (GossipReceived on the transaction
// channel), each relayed by one of the ready peers from its own author,
// 128-byte payloads, 10 µs apart.
func gossip(s *store.Store, clock *testClock, ids []state.PeerID, n int) {
	data := make([]byte, 128)
	for i := 0; i < n; i++ {
		clock.t += 10_000
		p := ids[i%len(ids)]
		s.Dispatch(action.GossipReceived{Peer: p, Author: p, Channel: channel.Transaction, Msg: uint64(i + 1), Data: data})
	}
}

// BenchmarkDispatchGossipReceived dispatches broadcasts from 100 ready
// peers without recording: the gossip rule, the delivery and the verdict.
func BenchmarkDispatchGossipReceived(b *testing.B) {
	s, clock, _, ids := readyNode(b, 100, "")
	b.ReportAllocs()
	b.ResetTimer()
	gossip(s, clock, ids, b.N)
	b.StopTimer()
	if d := s.State().Counters.Dropped; len(d) > 0 {
		b.Fatalf("dropped: %v", d)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}

func benchDispatch(b *testing.B, record bool) {
	path := ""
	if record {
		path = filepath.Join(b.TempDir(), "bench.log")
	}
	s, clock, w, ids := readyNode(b, 100, path)
	var start uint64
	if w != nil {
		start = w.Bytes()
	}
	b.ReportAllocs()
	b.ResetTimer()
	traffic(s, clock, ids, b.N)
	b.StopTimer()
	if d := s.State().Counters.Dropped; len(d) > 0 {
		b.Fatalf("dropped: %v", d)
	}
	if w != nil {
		b.ReportMetric(float64(w.Bytes()-start)/float64(b.N), "bytes/action")
		if err := w.End(s.LastID(), s.State().Hash(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}

// BenchmarkDispatchMessageReceived dispatches MessageReceived from 100
// ready peers without recording.
func BenchmarkDispatchMessageReceived(b *testing.B) { benchDispatch(b, false) }

// BenchmarkDispatchMessageReceivedRecorded does the same while writing
// every action to a log file, with a state-hash checkpoint every 4096
// actions.
func BenchmarkDispatchMessageReceivedRecorded(b *testing.B) { benchDispatch(b, true) }

// BenchmarkReplay replays a log of 100 ready peers and 200,000 messages
// from its file: reading, checksums, decoding, dispatch through the same
// reducers and effects, and verification of every derived action and
// checkpoint; with the collector set as p2pnode replay sets it.
func BenchmarkReplay(b *testing.B) {
	path := filepath.Join(b.TempDir(), "replay.log")
	s, clock, w, ids := readyNode(b, 100, path)
	traffic(s, clock, ids, 200_000)
	if err := w.End(s.LastID(), s.State().Hash(), nil); err != nil {
		b.Fatal(err)
	}
	actions := s.LastID()
	defer replay.TuneGC()() // as p2pnode replay runs
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum, err := replay.VerifyFile(path, replay.Options{})
		if err != nil || sum.LastID != actions {
			b.Fatalf("replay: %v (%d of %d actions)", err, sum.LastID, actions)
		}
	}
	b.ReportMetric(float64(actions)*float64(b.N)/b.Elapsed().Seconds(), "actions/s")
	b.ReportMetric(float64(w.Bytes())/float64(actions), "bytes/action")
}

// BenchmarkReplayRead reads the log of BenchmarkReplay without applying
// it: framing, checksums and decoding alone, the part of a replay that
// runs on its second goroutine.
func BenchmarkReplayRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "replay.log")
	s, clock, w, ids := readyNode(b, 100, path)
	traffic(s, clock, ids, 200_000)
	if err := w.End(s.LastID(), s.State().Hash(), nil); err != nil {
		b.Fatal(err)
	}
	actions := s.LastID()
	defer replay.TuneGC()() // as p2pnode replay runs
	b.ReportAllocs()
	b.ResetTimer()
	var rec replay.Record
	for i := 0; i < b.N; i++ {
		rd, err := replay.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if err := rd.NextInto(&rec); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
		rd.Close()
	}
	b.ReportMetric(float64(actions)*float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}
