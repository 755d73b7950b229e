package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/replay"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// runDHTDemo is `p2pnode demo dht`: nodes on 127.0.0.1 run the Kademlia
// DHT; two of them are archival and serve blocks over HTTP-over-libp2p. A
// node that knows only the bootnode finds an archival peer by capability
// through the DHT, connects to it, fetches a block with the rate-limited
// HTTP client (choosing the peer with the class-based selector), checks
// it, and then every node's action log is replayed and verified.
func runDHTDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo dht", "", stdout)
	count := fs.Int("nodes", 6, "number of nodes, the bootnode included (4 to 16)")
	dir := fs.String("dir", "", "keep the data dirs and action logs in `DIR` (default: a temporary dir, removed after)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	verbose := fs.Bool("v", false, "show the nodes' logs")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *count < 4 || *count > 16 {
		return usagef("--nodes %d: want 4 to 16", *count)
	}
	keep := *dir != ""
	if !keep {
		if *dir, err = os.MkdirTemp("", "p2pcore-demo-dht-"); err != nil {
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
	if err := d.runDHT(ctx, *count); err != nil {
		fmt.Fprintf(stdout, "demo FAILED: %v\n", err)
		return errQuiet
	}
	if keep {
		fmt.Fprintf(stdout, "logs and data dirs kept in %s\n", *dir)
	}
	return nil
}

// demoBlock is block h as an archival node serves it: deterministic bytes
// the fetcher can check.
func demoBlock(h int) []byte {
	sum := sha256.Sum256([]byte("p2pcore demo block " + strconv.Itoa(h)))
	return []byte(fmt.Sprintf("block %d %s\n", h, hex.EncodeToString(sum[:])))
}

func (d *demo) runDHT(ctx context.Context, count int) error {
	d.step("starting %d nodes on 127.0.0.1 with the Kademlia DHT (server mode); nodes 2 and 4 are archival", count)
	var boot []string
	archival := map[state.PeerID]bool{}
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("node-%d", i)
		if i == 0 {
			name = "boot"
		}
		rules := state.DefaultConfig("demo")
		rules.DHTMode = state.DHTServer
		// Retries within seconds, so that a demo whose nodes start at
		// once converges quickly (Algorand's are 1–100 s).
		rules.AdvertiseRetryMax = 2 * time.Second
		if i == 2 || i == 4 {
			rules.Capabilities = []string{state.CapArchival}
		}
		dn := &demoNode{name: name, log: filepath.Join(d.dir, name+".log"), recv: map[uint64]time.Duration{}}
		n, err := node.New(node.Config{
			Network: "demo", Listen: []string{"/ip4/127.0.0.1/tcp/0"},
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
		if len(rules.Capabilities) > 0 {
			archival[n.ID()] = true
			err := n.HandleHTTP("/block/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/block/"))
				if err != nil || h < 0 {
					http.Error(w, "no such block", http.StatusNotFound)
					return
				}
				w.Header().Set("X-Served-To", string(node.HTTPPeer(r)))
				w.Write(demoBlock(h))
			}))
			if err != nil {
				return err
			}
			d.step("%s is archival: advertises %q, serves /block/<height> over HTTP-over-libp2p", name, state.CapArchival)
		}
	}

	fetcher := d.nodes[count-1]
	d.step("%s looks up %q in the DHT", fetcher.name, state.CapArchival)
	var found []state.PeerAddr
	for {
		lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
		peers, err := fetcher.n.FindPeers(lctx, state.CapArchival, 4)
		lcancel()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("no archival peer found: %w", ctx.Err())
		}
		if len(peers) >= 2 {
			found = peers
			break
		}
		time.Sleep(300 * time.Millisecond) // the archival nodes are still advertising
	}
	for _, p := range found {
		if !archival[p.ID] {
			return fmt.Errorf("the DHT named %s as archival; it is not", p.ID)
		}
		d.step("found archival peer %s at %v", p.ID.Short(), p.Addrs)
		if err := fetcher.n.Connect(ctx, string(p.Addrs[0])+"/p2p/"+string(p.ID)); err != nil && !errors.Is(err, reducer.ErrAlreadyConnected) {
			d.step("connect %s: %v", p.ID.Short(), err)
		}
	}

	sel := node.NewPeerSelector(fetcher.n.DefaultPeerClasses()...)
	const height = 42
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return fmt.Errorf("block %d not fetched: %w", height, ctx.Err())
		}
		peer, class, err := sel.Next()
		if err != nil || !archival[peer] {
			if err == nil {
				sel.Failure(peer) // not an archival node: it has no blocks
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		start := time.Now()
		fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
		req, _ := http.NewRequestWithContext(fctx, http.MethodGet, fmt.Sprintf("http://%s/block/%d", peer, height), nil)
		resp, err := fetcher.n.HTTPClient(peer).Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		fcancel()
		if err != nil || string(body) != string(demoBlock(height)) {
			sel.Failure(peer)
			d.step("fetch from %s (%s class) failed: %v", peer.Short(), class, err)
			continue
		}
		sel.Success(peer)
		d.step("fetched block %d (%d bytes) from %s (%s class) over HTTP-over-libp2p in %v; the handler saw us as %s",
			height, len(body), peer.Short(), class, time.Since(start).Round(10*time.Microsecond), state.PeerID(resp.Header.Get("X-Served-To")).Short())
		if state.PeerID(resp.Header.Get("X-Served-To")) != fetcher.n.ID() {
			return errors.New("the handler did not see the fetcher's peer ID")
		}
		break
	}

	var lookups, exchanges uint64
	fetcher.n.State(ctx, func(s *state.State) { lookups, exchanges = s.DHT.Lookups, s.HTTP.Exchanges })
	d.step("closing the nodes")
	d.closeAll()
	d.step("replaying every node's action log through the state machine")
	failed := false
	for _, dn := range d.nodes {
		sum, err := replay.VerifyFile(dn.log, replay.Options{CheckInvariants: true})
		if err != nil || sum.Violations > 0 || !sum.Complete {
			failed = true
			fmt.Fprintf(d.out, "  %-7s FAILED: %v %v\n", dn.name, err, sum.FirstViolation)
			continue
		}
		fmt.Fprintf(d.out, "  %-7s verified: %d actions, %d checkpoints, end hash %s\n", dn.name, sum.LastID, sum.Checkpoints, sum.Final.Short())
	}
	if failed {
		return errors.New("a log did not verify")
	}
	d.step("demo passed: archival peer found through the DHT (%d lookups), block fetched over HTTP-over-libp2p (%d exchanges recorded), every log replayed and verified", lookups, exchanges)
	return nil
}
