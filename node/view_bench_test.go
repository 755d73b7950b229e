package node

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/p2pcore/p2pcore/state"
)

// The cost of the read-only API: State copies the whole state, Snapshot
// counts. The figures quoted in their godoc come from these benchmarks.
// Run: go test -run '^$' -bench 'StateClone|Snapshot|NodeState' ./node

// busyState is a state the size of a busy node at the default limits:
// every inbound and outbound slot ready (64 + 8 peers, each with a
// completed handshake, two streams and a gossip author entry), the
// address book full (4,096 new + 1,024 tried), and 100 bans.
func busyState(peers, book int) *state.State {
	cfg := state.DefaultConfig("bench")
	self := state.Self{ID: "self", ListenAddrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}
	const now = 1_700_000_000_000_000_000
	st := state.New(cfg, self, 1, now)
	for i := 0; i < peers; i++ {
		id := state.PeerID(fmt.Sprintf("12D3KooWPeer%040d", i))
		addr := state.Addr(fmt.Sprintf("/ip4/10.%d.%d.1/tcp/4001", i/250+1, i%250))
		dir := state.Inbound
		if i%9 == 0 {
			dir = state.Outbound
		}
		st.Peers[id] = &state.Peer{
			ID: id, Dir: dir, Addr: addr, Dialled: []state.Addr{addr}, Group: state.AddrGroup(addr),
			Status: state.StatusReady, Since: now, Open: true,
			Handshake: state.Handshake{Done: true, Version: 1, Software: "p2pcore/0.1.0",
				ListenAddrs: []state.Addr{addr, addr + "/quic-v1"}, Observed: self.ListenAddrs[0]},
			Streams: []uint64{uint64(2 * i), uint64(2*i + 1)},
		}
		st.Gossip.Authors[id] = &state.Author{}
	}
	for i := 0; i < book; i++ {
		id := state.PeerID(fmt.Sprintf("12D3KooWBook%040d", i))
		addr := state.Addr(fmt.Sprintf("/ip4/172.%d.%d.1/tcp/4001", 16+i/250, i%250))
		e := &state.AddrEntry{ID: id, Addrs: []state.Addr{addr, addr + "/quic-v1"}, Group: state.AddrGroup(addr),
			AddedAt: now, LastSeen: now}
		st.BookPut(e)
		if i < cfg.AddrBookTried {
			st.BookMove(e, true)
		}
	}
	for i := 0; i < 100; i++ {
		st.Bans[fmt.Sprintf("192.168.%d.%d", i/250, i%250)] = state.Ban{Until: now + 1e12, Reason: "malformed"}
	}
	return st
}

func BenchmarkStateClone(b *testing.B) {
	for _, size := range []struct{ peers, book int }{{0, 0}, {72, 0}, {72, 5120}} {
		b.Run(fmt.Sprintf("peers=%d/book=%d", size.peers, size.book), func(b *testing.B) {
			st := busyState(size.peers, size.book)
			b.ReportAllocs()
			for b.Loop() {
				st.Clone()
			}
		})
	}
}

func BenchmarkSnapshot(b *testing.B) {
	for _, peers := range []int{0, 72} {
		b.Run(fmt.Sprintf("peers=%d", peers), func(b *testing.B) {
			st := busyState(peers, 5120)
			b.ReportAllocs()
			for b.Loop() {
				snapshotOf(st, 1)
			}
		})
	}
}

// BenchmarkNodeState measures the API calls on a running idle node: the
// round trip through its goroutine and, for State, the copy.
func BenchmarkNodeState(b *testing.B) {
	dir := b.TempDir()
	n, err := New(Config{Network: "bench", Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DataDir: filepath.Join(dir, "n")})
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	b.Run("State", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := n.State(ctx, func(*state.State) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := n.Snapshot(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
