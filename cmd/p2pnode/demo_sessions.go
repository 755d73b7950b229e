package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/replay"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/session"
	"github.com/p2pcore/p2pcore/state"
)

// runSessionDemo is `p2pnode demo sessions`: Chainweb's P2P sessions on
// real go-libp2p hosts on 127.0.0.1. Each node runs one session network
// per chain, all over one connection per peer, each keeping its target of
// cut-exchange sessions (session.Cut) that rotate through a short
// timeout; nodes mine blocks for a while, the sessions spread the news,
// and at the end every node must hold the same cut, every chain must be
// at its target on every node, and every node's action log must replay
// and verify. A table shows the sessions per node and chain.
func runSessionDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo sessions", "", stdout)
	nodes := fs.Int("nodes", 5, "number of nodes, the bootnode included (3 to 16)")
	chains := fs.Int("chains", 3, "session networks (chains) per node (1 to 20)")
	target := fs.Int("target", 2, "sessions each node keeps running per chain (2 to 30, at most nodes-1)")
	timeout := fs.Duration("session-timeout", time.Second, "mean session timeout (each drawn within ±10 %)")
	run := fs.Duration("duration", 6*time.Second, "how long the sessions run (blocks are mined in the first half)")
	dir := fs.String("dir", "", "keep the data dirs and action logs in `DIR` (default: a temporary dir, removed after)")
	verbose := fs.Bool("v", false, "show the nodes' logs")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usagef("unexpected argument %q", rest[0])
	case *nodes < 3 || *nodes > 16:
		return usagef("--nodes %d: want 3 to 16", *nodes)
	case *chains < 1 || *chains > 20:
		return usagef("--chains %d: want 1 to 20", *chains)
	case *target < 2 || *target > 30 || *target > *nodes-1:
		return usagef("--target %d: want 2 to 30, and at most --nodes minus one (%d)", *target, *nodes-1)
	case *timeout < 100*time.Millisecond || *timeout > time.Minute:
		return usagef("--session-timeout %v: want 100ms to 1m", *timeout)
	case *run < 2**timeout || *run > 10*time.Minute:
		return usagef("--duration %v: want at least two session timeouts (%v) and at most 10m", *run, 2**timeout)
	}
	keep := *dir != ""
	if !keep {
		if *dir, err = os.MkdirTemp("", "p2pcore-sessions-"); err != nil {
			return err
		}
		defer os.RemoveAll(*dir)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	p2p.RouteLogs(logger.With("system", "libp2p").Handler())
	ctx, cancel := context.WithTimeout(context.Background(), *run+60*time.Second)
	defer cancel()
	d := &demo{out: stdout, dir: *dir, logger: logger, start: time.Now()}
	defer d.closeAll()
	sd := &sessionDemo{demo: d, chains: *chains, target: *target, timeout: *timeout, length: *run}
	if err := sd.run(ctx, *nodes); err != nil {
		fmt.Fprintf(stdout, "demo FAILED: %v\n", err)
		return errQuiet
	}
	if keep {
		fmt.Fprintf(stdout, "logs and data dirs kept in %s\n", *dir)
	}
	return nil
}

// sessionDemo is the state of one session demo.
type sessionDemo struct {
	*demo
	chains, target  int
	timeout, length time.Duration
	cuts            []*session.Cut
}

// chainStats is one node's figures for one chain.
type chainStats struct {
	out, in                          int
	started, ok, timedOut, failed, n uint64
}

func (sd *sessionDemo) run(ctx context.Context, count int) error {
	d := sd.demo
	d.step("starting %d nodes on 127.0.0.1 (each records its actions)", count)
	rules := state.DefaultConfig("demo")
	var boot []string
	for i := range count {
		name := fmt.Sprintf("node-%d", i)
		if i == 0 {
			name = "boot"
		}
		dn := &demoNode{name: name, log: filepath.Join(d.dir, name+".log")}
		n, err := node.New(node.Config{
			Network: "demo", Listen: []string{"/ip4/127.0.0.1/tcp/0"},
			Bootstrap: boot, DataDir: filepath.Join(d.dir, name), Record: dn.log, CheckpointEvery: 256,
			TickInterval: 50 * time.Millisecond, Rules: &rules, Logger: d.logger.With("node", name),
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
		}
	}
	if err := d.waitMesh(ctx, count-1); err != nil {
		return err
	}
	d.step("all nodes connected to each other")

	d.step("each node runs %d chains: %d cut-exchange sessions per chain, timeout %v ±10 %%", sd.chains, sd.target, sd.timeout)
	for _, dn := range d.nodes {
		cut := session.NewCut(sd.chains)
		sd.cuts = append(sd.cuts, cut)
		for c := range sd.chains {
			err := dn.n.RunSessions(fmt.Sprintf("chain-%d", c), cut.Session(false),
				session.Config{Target: sd.target, Timeout: sd.timeout, BufferMessages: 16, BufferBytes: 64 << 10, MaxMessage: 4 << 10})
			if err != nil {
				return fmt.Errorf("%s: %w", dn.name, err)
			}
		}
	}
	// Mining: in the first half, a random node adds a block to a random
	// chain every 50 ms; the sessions carry the cuts to everyone.
	var wg sync.WaitGroup
	mined := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		stop := time.After(sd.length / 2)
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
				sd.cuts[rng.IntN(len(sd.cuts))].Advance(rng.IntN(sd.chains))
				mined++
			}
		}
	}()
	below := 0
	samples := 0
	deadline := time.Now().Add(sd.length)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Until(deadline) > sd.length-2*sd.timeout {
			continue // warming up
		}
		samples++
		for _, dn := range d.nodes {
			for _, st := range sd.stats(ctx, dn) {
				if st.out < sd.target {
					below++
				}
			}
		}
	}
	wg.Wait()
	d.step("mined %d blocks in the first half; sampled the sessions %d times after warm-up", mined, samples)
	table := make([][]chainStats, len(d.nodes))
	for i, dn := range d.nodes {
		table[i] = sd.stats(ctx, dn)
	}
	sd.printTable(table)

	var problems []string
	if below > 0 {
		problems = append(problems, fmt.Sprintf("%d node-chain samples below the target of %d", below, sd.target))
	}
	want := make([]uint64, sd.chains)
	for _, cut := range sd.cuts {
		for c, h := range cut.Heights() {
			want[c] = max(want[c], h)
		}
	}
	agree := 0
	for i, cut := range sd.cuts {
		if slices.Equal(cut.Heights(), want) {
			agree++
		} else {
			problems = append(problems, fmt.Sprintf("%s holds the cut %v, the highest is %v", d.nodes[i].name, cut.Heights(), want))
		}
	}
	d.step("%d of %d nodes hold the highest cut %v", agree, len(sd.cuts), want)
	for i, dn := range d.nodes {
		for c, st := range table[i] {
			if st.timedOut+st.ok == 0 {
				problems = append(problems, fmt.Sprintf("%s chain-%d: no session ended well (no rotation)", dn.name, c))
			}
		}
	}

	if err := d.closeAll(); err != nil {
		problems = append(problems, err.Error())
	}
	d.step("closed; replaying every node's action log")
	for _, dn := range d.nodes {
		sum, err := replay.VerifyFile(dn.log, replay.Options{CheckInvariants: true})
		if err != nil || !sum.Complete || sum.Violations > 0 {
			problems = append(problems, fmt.Sprintf("%s: replay: %v (complete %v, %d invariant violations)", dn.name, err, sum.Complete, sum.Violations))
			continue
		}
		fmt.Fprintf(d.out, "  %-7s %7d actions, %4d checkpoints verified, final state %s\n", dn.name, sum.LastID, sum.Checkpoints, sum.Final.Short())
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problems:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	d.step("demo passed")
	return nil
}

// stats reads a node's session figures per chain.
func (sd *sessionDemo) stats(ctx context.Context, dn *demoNode) []chainStats {
	out := make([]chainStats, sd.chains)
	dn.n.State(ctx, func(s *state.State) {
		for i, net := range s.Sessions.Networks {
			if i < len(out) {
				out[i] = chainStats{out: net.Outbound, in: net.Inbound, started: net.Started,
					ok: net.Succeeded, timedOut: net.TimedOut, failed: net.Failed}
			}
		}
	})
	return out
}

// printTable writes the sessions per node and chain.
func (sd *sessionDemo) printTable(table [][]chainStats) {
	w := tabwriter.NewWriter(sd.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "node\tchain\trunning out\trunning in\tstarted\tsucceeded\ttimed out\tfailed\t")
	for i, row := range table {
		for c, st := range row {
			fmt.Fprintf(w, "%s\tchain-%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", sd.nodes[i].name, c, st.out, st.in, st.started, st.ok, st.timedOut, st.failed)
		}
	}
	w.Flush()
}
