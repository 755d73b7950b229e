package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// fileConfig is the JSON config file of `p2pnode run --config`. Flags given
// on the command line win over the file.
type fileConfig struct {
	Network   string            `json:"network"`
	Listen    []string          `json:"listen"`
	Bootstrap []string          `json:"bootstrap"`
	DataDir   string            `json:"data_dir"`
	Record    string            `json:"record"`
	LogLevel  string            `json:"log_level"`
	LogFormat string            `json:"log_format"`
	WebSocket bool              `json:"websocket"`
	Seed      uint64            `json:"seed"`
	Bans      map[string]string `json:"bans"`
	// Rules overrides protocol settings by state.Config field name, e.g.
	// {"OutboundTarget": 12, "PingInterval": "30s"}.
	Rules map[string]json.RawMessage `json:"rules"`
}

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
	var (
		listen, bootstrap stringList
		bans              = banList{}
	)
	network := fs.String("network", "p2pcore", "network `id`; nodes of other networks are refused")
	fs.Var(&listen, "listen", "listen `multiaddr` (repeatable; default TCP and QUIC on port 4001)")
	fs.Var(&bootstrap, "bootstrap", "bootstrap peer `multiaddr` ending in /p2p/<id> (repeatable)")
	dataDir := fs.String("data-dir", "", "identity key and peer store `dir` (default ~/.p2pcore/<network>)")
	record := fs.String("record", "", "write the action log to `FILE`")
	checkpointEvery := fs.Uint64("checkpoint-every", 4096, "write a state-hash checkpoint every `N` actions (1 pins a divergence to its action)")
	configFile := fs.String("config", "", "JSON config `file` (flags override it)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	websocket := fs.Bool("websocket", false, "also listen and dial over WebSocket")
	seed := fs.Uint64("seed", 0, "seed of the state machine's RNG (default: random; always recorded)")
	httpAddr := fs.String("http", "", "serve /debug/pprof/ on `ADDR` (loopback only, e.g. 127.0.0.1:9090)")
	recordPayloads := fs.String("record-payloads", "digest", "digest: record application payloads over the limit as length and SHA-256; full: record them all")
	fs.Var(bans, "ban", "ban a peer ID or IP: `TARGET=DURATION` (repeatable)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := node.Config{}
	var fc fileConfig
	if *configFile != "" {
		if fc, err = readConfigFile(*configFile); err != nil {
			return err
		}
		cfg.Network, cfg.Listen, cfg.Bootstrap, cfg.DataDir, cfg.Record = fc.Network, fc.Listen, fc.Bootstrap, fc.DataDir, fc.Record
		cfg.WebSocket, cfg.Seed = fc.WebSocket, fc.Seed
		if fc.LogLevel != "" && !set["log-level"] {
			*logLevel = fc.LogLevel
		}
		if fc.LogFormat != "" && !set["log-format"] {
			*logFormat = fc.LogFormat
		}
		cfg.Bans = map[string]time.Duration{}
		for t, d := range fc.Bans {
			dur, err := time.ParseDuration(d)
			if err != nil || dur <= 0 {
				return fmt.Errorf("config %s: bans[%q]: want a positive duration like \"24h\", got %q", *configFile, t, d)
			}
			cfg.Bans[t] = dur
		}
	}
	if set["network"] || cfg.Network == "" {
		cfg.Network = *network
	}
	if set["listen"] {
		cfg.Listen = listen
	}
	if set["bootstrap"] {
		cfg.Bootstrap = bootstrap
	}
	if set["data-dir"] {
		cfg.DataDir = *dataDir
	}
	if set["record"] {
		cfg.Record = *record
	}
	if set["checkpoint-every"] {
		if *checkpointEvery == 0 {
			return usagef("--checkpoint-every must be at least 1")
		}
		cfg.CheckpointEvery = *checkpointEvery
	}
	if set["websocket"] {
		cfg.WebSocket = *websocket
	}
	if set["seed"] {
		cfg.Seed = *seed
	}
	if len(bans) > 0 {
		if cfg.Bans == nil {
			cfg.Bans = map[string]time.Duration{}
		}
		for t, d := range bans {
			cfg.Bans[t] = d
		}
	}
	if len(fc.Rules) > 0 {
		rules := state.DefaultConfig(cfg.Network)
		if err := applyRules(&rules, fc.Rules); err != nil {
			return fmt.Errorf("config %s: rules: %w", *configFile, err)
		}
		cfg.Rules = &rules
	}
	logger, err := newLogger(*logLevel, *logFormat, stderr)
	if err != nil {
		return usagef("%v", err)
	}
	cfg.Logger = logger
	// go-libp2p's internal logs only at debug: at other levels they repeat
	// what our own log and error messages already say.
	if *logLevel == "debug" {
		p2p.RouteLogs(logger.With("system", "libp2p").Handler())
	} else {
		p2p.RouteLogs(nil)
	}

	cfg.RecordPayloads = *recordPayloads
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	if *httpAddr != "" {
		closeHTTP, err := serveDebug(*httpAddr)
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

// readConfigFile parses the JSON config, refusing unknown fields and
// anything after the object, and says where a mistake is (file:line:col).
func readConfigFile(path string) (fileConfig, error) {
	var fc fileConfig
	raw, err := os.ReadFile(path)
	if err != nil {
		return fc, fmt.Errorf("config: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return fc, fmt.Errorf("config %s: the file is empty (want a JSON object)", path)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			// Offset counts the offending byte as read.
			line, col := position(raw, syn.Offset-1)
			return fc, fmt.Errorf("config %s:%d:%d: %v", path, line, col, err)
		case errors.As(err, &typ):
			line, col := position(raw, valueStart(raw, typ.Offset))
			return fc, fmt.Errorf("config %s:%d:%d: field %q: want %s, got %s", path, line, col, typ.Field, typ.Type, typ.Value)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			line, col := position(raw, int64(len(raw)))
			return fc, fmt.Errorf("config %s:%d:%d: the file ends before the JSON object does", path, line, col)
		}
		return fc, fmt.Errorf("config %s: %v", path, err)
	}
	if off := dec.InputOffset(); len(bytes.TrimSpace(raw[off:])) > 0 {
		rest := off + int64(len(raw[off:])-len(bytes.TrimLeft(raw[off:], " \t\r\n")))
		line, col := position(raw, rest)
		return fc, fmt.Errorf("config %s:%d:%d: unexpected text after the JSON object", path, line, col)
	}
	return fc, nil
}

// position turns a byte offset into a 1-based line and column.
func position(raw []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(raw)); i++ {
		if raw[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// valueStart finds where the value that ends at off begins: after the
// last ':', '[' or ',' before it, and any space. A type error's offset
// points past the value; the start is where a reader looks.
func valueStart(raw []byte, off int64) int64 {
	off = min(off, int64(len(raw)))
	i := int64(bytes.LastIndexAny(raw[:off], ":[,")) + 1
	for i < off && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == '\n') {
		i++
	}
	return i
}

// applyRules sets state.Config fields by name from JSON values; durations
// are strings like "30s".
func applyRules(c *state.Config, rules map[string]json.RawMessage) error {
	for _, name := range state.SortedKeys(rules) {
		raw := rules[name]
		var err error
		switch name {
		case "OutboundTarget":
			err = json.Unmarshal(raw, &c.OutboundTarget)
		case "MaxInbound":
			err = json.Unmarshal(raw, &c.MaxInbound)
		case "MaxPendingInbound":
			err = json.Unmarshal(raw, &c.MaxPendingInbound)
		case "BanThreshold":
			err = json.Unmarshal(raw, &c.BanThreshold)
		case "MaxAddrList":
			err = json.Unmarshal(raw, &c.MaxAddrList)
		case "Software":
			err = json.Unmarshal(raw, &c.Software)
		case "Services":
			err = json.Unmarshal(raw, &c.Services)
		case "DialTimeout", "HandshakeTimeout", "PingInterval", "PingTimeout", "BackoffBase", "BackoffCap",
			"MaxClockSkew", "DiscourageFor", "SaveInterval":
			var s string
			if err = json.Unmarshal(raw, &s); err == nil {
				var d time.Duration
				if d, err = time.ParseDuration(s); err == nil {
					setDuration(c, name, d)
				}
			}
		default:
			return fmt.Errorf("unknown rule %q", name)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	return c.Validate()
}

func setDuration(c *state.Config, name string, d time.Duration) {
	switch name {
	case "DialTimeout":
		c.DialTimeout = d
	case "HandshakeTimeout":
		c.HandshakeTimeout = d
	case "PingInterval":
		c.PingInterval = d
	case "PingTimeout":
		c.PingTimeout = d
	case "BackoffBase":
		c.BackoffBase = d
	case "BackoffCap":
		c.BackoffCap = d
	case "MaxClockSkew":
		c.MaxClockSkew = d
	case "DiscourageFor":
		c.DiscourageFor = d
	case "SaveInterval":
		c.SaveInterval = d
	}
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
