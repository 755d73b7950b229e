package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/replay"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// runDemo starts a small network on 127.0.0.1 — a bootnode and the other
// nodes bootstrapping from it — and checks the whole product: peers find
// each other, every broadcast reaches every node, direct messages arrive,
// and every node's action log replays and verifies. It exits 0 only if all
// of that held.
func runDemo(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "sessions" {
		return runSessionDemo(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "dht" {
		return runDHTDemo(args[1:], stdout, stderr)
	}
	fs := newFlags("demo", "", stdout)
	nodes := fs.Int("nodes", 5, "number of nodes, the bootnode included (2 to 16)")
	txs := fs.Int("messages", 10, "transactions each node broadcasts")
	dir := fs.String("dir", "", "keep the data dirs and action logs in `DIR` (default: a temporary dir, removed after)")
	timeout := fs.Duration("timeout", 45*time.Second, "give up after this long")
	verbose := fs.Bool("v", false, "show the nodes' logs")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *nodes < 2 || *nodes > 16 {
		return usagef("--nodes %d: want 2 to 16", *nodes)
	}
	if *txs < 0 || *txs > 10000 {
		return usagef("--messages %d: want 0 to 10000", *txs)
	}
	keep := *dir != ""
	if !keep {
		if *dir, err = os.MkdirTemp("", "p2pcore-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(*dir)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	p2p.RouteLogs(logger.With("system", "libp2p").Handler())
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	d := &demo{out: stdout, dir: *dir, logger: logger, start: time.Now()}
	defer d.closeAll()
	if err := d.run(ctx, *nodes, *txs); err != nil {
		fmt.Fprintf(stdout, "demo FAILED: %v\n", err)
		return errQuiet
	}
	if keep {
		fmt.Fprintf(stdout, "logs and data dirs kept in %s\n", *dir)
	}
	return nil
}

type demoNode struct {
	n      *node.Node
	name   string
	log    string
	sent   int
	direct int
	// recv maps a message's ID to its delivery latency.
	mu     sync.Mutex
	recv   map[uint64]time.Duration
	dirIn  int
	closed bool
}

type demo struct {
	out    io.Writer
	dir    string
	logger *slog.Logger
	start  time.Time
	nodes  []*demoNode
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "[%5.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

func (d *demo) run(ctx context.Context, count, txs int) error {
	d.step("starting %d nodes on 127.0.0.1 (each records its actions)", count)
	rules := state.DefaultConfig("demo")
	var boot []string
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("node-%d", i)
		if i == 0 {
			name = "boot"
		}
		dn := &demoNode{name: name, log: filepath.Join(d.dir, name+".log"), recv: map[uint64]time.Duration{}}
		n, err := node.New(node.Config{
			Network: "demo", Listen: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
			Bootstrap: boot, DataDir: filepath.Join(d.dir, name), Record: dn.log, CheckpointEvery: 32,
			TickInterval: 100 * time.Millisecond, Rules: &rules, Logger: d.logger.With("node", name),
		})
		if err != nil {
			return err
		}
		if err := n.Start(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		dn.n = n
		d.nodes = append(d.nodes, dn)
		if i == 0 {
			boot = n.Addrs()
			d.step("bootnode %s at %s", n.ID(), boot[0])
		}
		for _, ch := range []state.Channel{channel.Block, channel.Transaction, channel.SnarkWork, channel.Sync} {
			go dn.collect(n.Subscribe(ch))
		}
	}

	d.step("waiting until every node has a ready peer in each of the other %d", count-1)
	if err := d.waitMesh(ctx, count-1); err != nil {
		return err
	}
	d.step("all nodes connected: every handshake done")
	if err := d.waitTopics(ctx, count-1); err != nil {
		return err
	}
	d.step("every node knows every other node's broadcast subscriptions")

	d.step("broadcasting: each node sends 1 block, %d transactions and 1 snark work", txs)
	var seq uint32
	for i, dn := range d.nodes {
		send := func(ch state.Channel, size int) error {
			seq++
			data := make([]byte, size)
			binary.BigEndian.PutUint32(data, uint32(i))
			binary.BigEndian.PutUint32(data[4:], seq)
			binary.BigEndian.PutUint64(data[8:], uint64(time.Now().UnixNano()))
			dn.sent++
			return dn.n.Broadcast(ctx, ch, data)
		}
		if err := send(channel.Block, 1024); err != nil {
			return fmt.Errorf("%s: broadcast: %w", dn.name, err)
		}
		for t := 0; t < txs; t++ {
			if err := send(channel.Transaction, 200); err != nil {
				return fmt.Errorf("%s: broadcast: %w", dn.name, err)
			}
		}
		if err := send(channel.SnarkWork, 512); err != nil {
			return fmt.Errorf("%s: broadcast: %w", dn.name, err)
		}
	}
	total := 0
	for _, dn := range d.nodes {
		total += dn.sent
	}
	want := total * (count - 1)
	if err := d.waitDeliveries(ctx, want); err != nil {
		return err
	}
	lat := d.latencies()
	d.step("delivered %d/%d broadcasts: latency p50 %v, p99 %v, max %v",
		want, want, lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))

	d.step("direct messages: every node sends one sync message to each of its peers")
	for _, dn := range d.nodes {
		for _, p := range dn.n.ReadyPeers() {
			if err := dn.n.Send(ctx, p, channel.Sync, []byte("direct hello from "+dn.name)); err != nil {
				return fmt.Errorf("%s: send to %s: %w", dn.name, p, err)
			}
			dn.direct++
		}
	}
	if err := d.waitDirect(ctx, count*(count-1)); err != nil {
		return err
	}
	d.step("direct messages: %d/%d delivered", count*(count-1), count*(count-1))

	summaries := make([]string, len(d.nodes))
	peers := make([]int, len(d.nodes))
	for i, dn := range d.nodes {
		peers[i] = len(dn.n.ReadyPeers())
	}
	d.step("closing every node (each tells its peers and ends its log)")
	if err := d.closeAll(); err != nil {
		return err
	}

	d.step("replaying every node's action log through the state machine")
	failed := false
	for i, dn := range d.nodes {
		sum, err := replay.VerifyFile(dn.log, replay.Options{CheckInvariants: true})
		if err != nil || sum.Violations > 0 {
			failed = true
			summaries[i] = fmt.Sprintf("FAILED: %v %v", err, sum.FirstViolation)
			continue
		}
		summaries[i] = fmt.Sprintf("verified: %d actions, %d checkpoints, end hash %s", sum.LastID, sum.Checkpoints, sum.Final.Short())
	}

	fmt.Fprintf(d.out, "\n%-7s %-14s %5s %5s %7s %7s  %s\n", "node", "peer id", "peers", "sent", "recv", "direct", "replay")
	for i, dn := range d.nodes {
		dn.mu.Lock()
		recv, dirIn := len(dn.recv), dn.dirIn
		dn.mu.Unlock()
		fmt.Fprintf(d.out, "%-7s %-14s %5d %5d %7d %7s  %s\n", dn.name, dn.n.ID().Short(), peers[i], dn.sent, recv,
			fmt.Sprintf("%d/%d", dirIn, count-1), summaries[i])
	}
	fmt.Fprintln(d.out)
	if failed {
		return errors.New("a log did not verify")
	}
	d.step("demo passed: %d nodes, %d broadcasts delivered everywhere, every log replayed and verified", count, total)
	return nil
}

// collect records what a subscription delivers.
func (dn *demoNode) collect(sub *node.Subscription) {
	for m := range sub.C() {
		dn.mu.Lock()
		if m.Channel == channel.Sync {
			dn.dirIn++
		} else if len(m.Data) >= 16 {
			id := uint64(binary.BigEndian.Uint32(m.Data))<<32 | uint64(binary.BigEndian.Uint32(m.Data[4:]))
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(m.Data[8:])))
			dn.recv[id] = time.Since(sent)
		}
		dn.mu.Unlock()
	}
}

func (d *demo) waitMesh(ctx context.Context, want int) error {
	for {
		ok := true
		for _, dn := range d.nodes {
			if len(dn.n.ReadyPeers()) < want {
				ok = false
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			var s string
			for _, dn := range d.nodes {
				s += fmt.Sprintf(" %s:%d", dn.name, len(dn.n.ReadyPeers()))
			}
			return fmt.Errorf("nodes did not all connect in time (ready peers:%s)", s)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitTopics waits until GossipSub has exchanged subscriptions between
// every pair of nodes, so that a publication reaches everyone directly.
func (d *demo) waitTopics(ctx context.Context, want int) error {
	for {
		ok := true
		for _, dn := range d.nodes {
			for _, ch := range []state.Channel{channel.Block, channel.Transaction, channel.SnarkWork} {
				if len(dn.n.BroadcastPeers(ch)) < want {
					ok = false
				}
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GossipSub did not learn every subscription in time")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d *demo) count(f func(*demoNode) int) int {
	total := 0
	for _, dn := range d.nodes {
		dn.mu.Lock()
		total += f(dn)
		dn.mu.Unlock()
	}
	return total
}

func (d *demo) waitDeliveries(ctx context.Context, want int) error {
	for {
		got := d.count(func(dn *demoNode) int { return len(dn.recv) })
		if got >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d broadcast deliveries arrived", got, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (d *demo) waitDirect(ctx context.Context, want int) error {
	for {
		got := d.count(func(dn *demoNode) int { return dn.dirIn })
		if got >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d direct messages arrived", got, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (d *demo) latencies() []time.Duration {
	var out []time.Duration
	for _, dn := range d.nodes {
		dn.mu.Lock()
		for _, l := range dn.recv {
			out = append(out, l)
		}
		dn.mu.Unlock()
	}
	slices.Sort(out)
	return out
}

// closeAll closes the nodes that are still open, all at once.
func (d *demo) closeAll() error {
	var wg sync.WaitGroup
	errs := make([]error, len(d.nodes))
	for i, dn := range d.nodes {
		if dn.closed {
			continue
		}
		dn.closed = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := dn.n.Close(); err != nil {
				errs[i] = fmt.Errorf("%s: %w", dn.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
