package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/p2pcore/p2pcore/inspect"
	"github.com/p2pcore/p2pcore/internal/configfile"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// stringList is a repeatable flag that also splits on commas.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// banList is the repeatable --ban TARGET=DURATION flag.
type banList map[string]time.Duration

func (b banList) String() string { return fmt.Sprint(map[string]time.Duration(b)) }
func (b banList) Set(v string) error {
	target, dur, ok := strings.Cut(v, "=")
	if !ok || target == "" {
		return fmt.Errorf("want TARGET=DURATION (a peer ID or IP, e.g. 203.0.113.7=24h), got %q", v)
	}
	if _, err := reducer.BanTarget(state.IDsLibp2p, target); err != nil {
		return fmt.Errorf("ban target %q: want a peer ID (in its canonical form, 12D3KooW… or Qm…), an IP address or a multiaddr", target)
	}
	d, err := time.ParseDuration(dur)
	if err != nil || d <= 0 {
		return fmt.Errorf("ban duration %q: want a positive duration like 24h", dur)
	}
	b[target] = d
	return nil
}

func runNode(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "", stdout)
	flagUsage := fs.Usage
	fs.Usage = func() {
		flagUsage()
		printConfigReference(stdout)
	}
	def := defaultRunFile()
	var (
		listen, bootstrap stringList
		bans              = banList{}
	)
	network := fs.String("network", def.Network, "network `id`; nodes of other networks are refused")
	fs.Var(&listen, "listen", "listen `multiaddr` (repeatable; default TCP and QUIC on port 4001)")
	fs.Var(&bootstrap, "bootstrap", "bootstrap peer `multiaddr` ending in /p2p/<id> (repeatable)")
	dataDir := fs.String("data-dir", def.DataDir, "identity key and peer store `dir` (default ~/.p2pcore/<network>)")
	record := fs.String("record", def.Record, "write the action log to `FILE`")
	checkpointEvery := fs.Uint64("checkpoint-every", def.CheckpointEvery, "write a state-hash checkpoint every `N` actions (1 pins a divergence to its action)")
	configFile := fs.String("config", "", "JSON config `file` (flags override it; see below)")
	printDefs := fs.Bool("print-defaults", false, "print every default as a config file and exit")
	logLevel := fs.String("log-level", def.LogLevel, "debug, info, warn or error")
	logFormat := fs.String("log-format", def.LogFormat, "text or json")
	websocket := fs.Bool("websocket", def.WebSocket, "also listen and dial over WebSocket")
	seed := fs.Uint64("seed", def.Seed, "seed of the state machine's RNG (default: random; always recorded)")
	httpAddr := fs.String("http", def.HTTP, "serve /metrics (Prometheus), /debug/pprof/ and the inspector on `ADDR` (e.g. 127.0.0.1:9090; another than loopback needs --http-token)")
	httpToken := fs.String("http-token", "", "require `TOKEN` on every --http request (?token= or Authorization: Bearer)")
	recordPayloads := fs.String("record-payloads", def.RecordPayloads, "digest: record application payloads over the limit as length and SHA-256; full: record them all")
	fs.Var(bans, "ban", "ban a peer ID or IP: `TARGET=DURATION` (repeatable)")
	dhtMode := fs.String("dht", "", "Kademlia DHT `mode`: off, client, server or auto (server when listening on a public address); default the config's (off)")
	caps := fs.String("capabilities", "", "capabilities to advertise in the DHT, comma-separated `list` (archival, gossip, relay or the application's)")
	wantCaps := fs.String("want-capabilities", "", "capabilities to keep WantPeersPerCapability peers of in the address book, comma-separated `list`")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *printDefs {
		return printDefaults(stdout)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	rf := def
	var root *configfile.Value
	if *configFile != "" {
		if rf, root, err = readRunFile(*configFile); err != nil {
			return err
		}
	}
	if set["network"] {
		rf.Network = *network
	}
	if set["listen"] {
		rf.Listen = listen
	}
	if set["bootstrap"] {
		rf.Bootstrap = bootstrap
	}
	if set["data-dir"] {
		rf.DataDir = *dataDir
	}
	if set["record"] {
		rf.Record = *record
	}
	if set["checkpoint-every"] {
		if *checkpointEvery == 0 {
			return usagef("--checkpoint-every must be at least 1")
		}
		rf.CheckpointEvery = *checkpointEvery
	}
	if set["record-payloads"] {
		rf.RecordPayloads = *recordPayloads
	}
	if set["log-level"] {
		rf.LogLevel = *logLevel
	}
	if set["log-format"] {
		rf.LogFormat = *logFormat
	}
	if set["websocket"] {
		rf.WebSocket = *websocket
	}
	if set["seed"] {
		rf.Seed = *seed
	}
	if set["http"] {
		rf.HTTP = *httpAddr
	}
	for t, d := range bans { // added to the file's
		rf.Bans[t] = d
	}
	rules := rf.protocolRules()
	if err := dhtFlags(&rules, set, *dhtMode, *caps, *wantCaps); err != nil {
		return err
	}
	if root != nil {
		if err := validateRules(&rules, root); err != nil {
			return err
		}
	}
	cfg := node.Config{
		Network: rf.Network, Listen: rf.Listen, Bootstrap: rf.Bootstrap, DataDir: rf.DataDir,
		Record: rf.Record, CheckpointEvery: rf.CheckpointEvery, Seed: rf.Seed, Rules: &rules,
		RecordPayloads: rf.RecordPayloads, WebSocket: rf.WebSocket, Bans: rf.Bans,
		Metrics: rf.HTTP != "",
	}
	logger, err := newLogger(rf.LogLevel, rf.LogFormat, stderr)
	if err != nil {
		return usagef("%v", err)
	}
	cfg.Logger = logger
	// go-libp2p's internal logs only at debug: at other levels they repeat
	// what our own log and error messages already say.
	if rf.LogLevel == "debug" {
		p2p.RouteLogs(logger.With("system", "libp2p").Handler())
	} else {
		p2p.RouteLogs(nil)
	}

	if rf.HTTP != "" {
		if err := inspect.CheckListen(rf.HTTP, *httpToken); err != nil {
			return usagef("--http: %v", err)
		}
	}
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	if rf.HTTP != "" {
		closeHTTP, err := serveDebug(rf.HTTP, *httpToken, n, cfg.Record)
		if err != nil {
			return err
		}
		defer closeHTTP()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := n.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "p2pnode: node %s on network %q\n", n.ID(), cfg.Network)
	for _, a := range n.Addrs() {
		fmt.Fprintf(stdout, "  listening on %s\n", a)
	}
	status := time.NewTicker(30 * time.Second)
	defer status.Stop()
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-status.C:
			logger.Info("status", "ready_peers", len(n.ReadyPeers()), "peers", len(n.Peers()))
		}
	}
	fmt.Fprintln(stdout, "p2pnode: stopping")
	if err := n.Close(); err != nil {
		return err
	}
	if cfg.Record != "" {
		fmt.Fprintf(stdout, "p2pnode: action log %s is complete (check it with: p2pnode replay %s)\n", cfg.Record, cfg.Record)
	}
	return nil
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func runKeygen(args []string, stdout, _ io.Writer) error {
	fs := newFlags("keygen", "", stdout)
	out := fs.String("out", "", "write the key to `FILE` (default <data-dir>/identity.key)")
	dataDir := fs.String("data-dir", "", "data `dir` of the node (default ~/.p2pcore/<network>)")
	network := fs.String("network", "p2pcore", "network `id`, for the default data dir")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	path := *out
	if path == "" {
		dir := *dataDir
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return fmt.Errorf("no --out or --data-dir given and no home directory: %v", err)
			}
			dir = filepath.Join(home, ".p2pcore", *network)
		}
		path = filepath.Join(dir, p2p.KeyFile)
	}
	key, err := p2p.GenerateKey()
	if err != nil {
		return err
	}
	if err := p2p.WriteKey(path, key); err != nil {
		return err
	}
	id, err := p2p.PeerIDOf(key)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\nwritten to %s (mode 0600)\n", id, path)
	return nil
}

// dhtFlags applies --dht, --capabilities and --want-capabilities, which
// override the config file's rules.
func dhtFlags(rules *state.Config, set map[string]bool, mode, caps, want string) error {
	if set["dht"] {
		if err := rules.DHTMode.UnmarshalText([]byte(mode)); err != nil {
			return usagef("--dht %q: want off, client, server or auto", mode)
		}
	}
	list := func(s string) []string {
		out := []string{}
		for _, c := range strings.Split(s, ",") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
		return out
	}
	if set["capabilities"] {
		rules.Capabilities = list(caps)
	}
	if set["want-capabilities"] {
		rules.WantCapabilities = list(want)
	}
	if (len(rules.Capabilities) > 0 || len(rules.WantCapabilities) > 0) && rules.DHTMode == state.DHTOff && (set["capabilities"] || set["want-capabilities"]) {
		return usagef("--capabilities and --want-capabilities need the DHT: add --dht auto (or client, server)")
	}
	return nil // the names are checked with the rest of the rules
}
