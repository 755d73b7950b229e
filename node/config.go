package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/state"
)

// Config configures a node. The zero value plus a Network is a working
// node: it listens on TCP and QUIC port 4001 on every interface, keeps its
// identity and peer store in ~/.p2pcore/<network>, and records nothing.
type Config struct {
	// Network is the network id (required).
	Network string
	// Listen are multiaddrs to listen on. Default: TCP and QUIC on 4001.
	Listen []string
	// Bootstrap are peers to start from, as full multiaddrs ending in
	// /p2p/<peer ID>.
	Bootstrap []string
	// DataDir holds the identity key and the peer store. Default:
	// ~/.p2pcore/<network>.
	DataDir string
	// Record, if set, is the path of the action log to write. A log
	// already there is kept, renamed to Record.1 (or .2, …).
	Record string
	// CheckpointEvery is the action log's checkpoint interval
	// (default 4096).
	CheckpointEvery uint64
	// Seed seeds the state machine's RNG; 0 draws one at random. It is
	// recorded in the log either way.
	Seed uint64
	// Channels are the application's channels: broadcast, direct or
	// request/response, each with its size limit, priority, budgets and
	// queue limit (see state.ChannelConfig). They are numbered from 1 in
	// this order (0 is the internal control channel); Node.Channel finds
	// one by name. Nil means the Mina preset (channel.Mina), or the
	// channels of Rules when Rules is set.
	Channels []state.ChannelConfig
	// Rules overrides the protocol defaults of state.DefaultConfig (its
	// Network and Bootnodes fields are set from this Config, and its
	// channels from Channels when that is set).
	Rules *state.Config
	// TickInterval is how often time-based rules run (default 250 ms).
	TickInterval time.Duration
	// SubscriptionBuffer and SubscriptionBytes bound what waits for a
	// subscriber to read it (default 16384 messages, 256 MiB); a
	// subscriber that falls further behind is closed with
	// ErrSlowSubscriber rather than silently losing messages.
	SubscriptionBuffer int
	SubscriptionBytes  int
	// Validators are the application's verdicts on broadcasts, per
	// channel: a broadcast is delivered and relayed only once its
	// channel's validator accepts it; a rejected one costs its sender
	// (state.Config.ScoreRejected). A validator runs in its own goroutine
	// and must be safe for concurrent use; a panic counts as ignore.
	Validators map[state.Channel]Validator
	// RecordPayloads is "digest" (the default: application payloads over
	// state.Config.RecordPayloadLimit are recorded as length and SHA-256)
	// or "full" (every payload in full).
	RecordPayloads string
	// WebSocket adds the WebSocket transport.
	WebSocket bool
	// Bans are applied at start: target (peer ID or IP) → duration.
	Bans map[string]time.Duration
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
	// Metrics has the node time every action's reducer and effects and
	// count message bytes, for Node.Metrics (a Prometheus endpoint, the
	// inspector's statistics). It costs a few clock readings per action.
	Metrics bool
}

// Validator is an application's verdict on a broadcast received from a
// peer: state.VerdictAccept, VerdictReject or VerdictIgnore.
type Validator func(from state.PeerID, data []byte) state.Verdict

// DefaultListen are the listen addresses of a node that names none.
var DefaultListen = []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}

// withDefaults fills in defaults and checks every field, naming the one
// that is wrong.
func (c Config) withDefaults() (Config, state.Config, []state.PeerAddr, error) {
	var errs []error
	if c.Network == "" {
		errs = append(errs, errors.New("network: must not be empty"))
	}
	if len(c.Listen) == 0 {
		c.Listen = DefaultListen
	}
	for _, l := range c.Listen {
		if _, err := ma.NewMultiaddr(l); err != nil {
			errs = append(errs, fmt.Errorf("listen address %q: %v", l, err))
		}
	}
	boot, err := ParseBootstrap(c.Bootstrap)
	if err != nil {
		errs = append(errs, err)
	}
	if c.DataDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			errs = append(errs, fmt.Errorf("data dir: none given and no home directory: %v", err))
		}
		c.DataDir = filepath.Join(home, ".p2pcore", c.Network)
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 4096
	}
	if c.TickInterval <= 0 {
		c.TickInterval = 250 * time.Millisecond
	}
	if c.SubscriptionBuffer <= 0 {
		c.SubscriptionBuffer = 16384
	}
	if c.SubscriptionBytes <= 0 {
		c.SubscriptionBytes = 256 * state.MiB
	}
	switch c.RecordPayloads {
	case "":
		c.RecordPayloads = "digest"
	case "digest", "full":
	default:
		errs = append(errs, fmt.Errorf("record payloads %q: want digest or full", c.RecordPayloads))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	rules := state.DefaultConfig(c.Network)
	if c.Rules != nil {
		rules = *c.Rules
		rules.Network = c.Network
	}
	rules.Bootnodes = boot
	rules.IDs = state.IDsLibp2p // go-libp2p peer IDs, canonical form only
	if c.Channels != nil {
		control := state.ControlChannel()
		if len(rules.Channels) > 0 {
			control = rules.Channels[0]
		}
		rules.Channels = append([]state.ChannelConfig{control}, c.Channels...)
	} else {
		rules.Channels = append([]state.ChannelConfig(nil), rules.Channels...)
	}
	for ch := range c.Validators {
		if !rules.HasChannel(ch) || !rules.Channels[ch].IsBroadcast() {
			errs = append(errs, fmt.Errorf("validator for %s: not a broadcast channel", ch))
			continue
		}
		rules.Channels[ch].Validated = true
	}
	if err := rules.Validate(); err != nil {
		errs = append(errs, err)
	}
	for target, d := range c.Bans {
		if _, err := reducer.BanTarget(rules.IDs, target); err != nil {
			errs = append(errs, fmt.Errorf("ban %q: want a peer ID, an IP address or a multiaddr", target))
		} else if d <= 0 {
			errs = append(errs, fmt.Errorf("ban %q for %v: needs a positive duration", target, d))
		}
	}
	return c, rules, boot, errors.Join(errs...)
}

// ParseBootstrap reads bootstrap addresses: multiaddrs that end in
// /p2p/<peer ID>. Several addresses of one peer are merged.
func ParseBootstrap(addrs []string) ([]state.PeerAddr, error) {
	var out []state.PeerAddr
	index := map[state.PeerID]int{}
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %v", s, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %v (it must end in /p2p/<peer ID>)", s, err)
		}
		id := state.PeerID(info.ID.String())
		i, ok := index[id]
		if !ok {
			i = len(out)
			index[id] = i
			out = append(out, state.PeerAddr{ID: id})
		}
		for _, a := range info.Addrs {
			out[i].Addrs = append(out[i].Addrs, state.Addr(a.String()))
		}
		if len(info.Addrs) == 0 {
			return nil, fmt.Errorf("bootstrap address %q: no transport address before /p2p", s)
		}
	}
	return out, nil
}
