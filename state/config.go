package state

import (
	"errors"
	"fmt"
	"time"
)

// ProtocolVersion is the p2pcore wire protocol version this build speaks.
// Version 2 added the channel list to Hello and HelloAck; a version 1 peer
// is refused with ReasonIncompatibleVersion under the default
// MinProtocolVersion.
const ProtocolVersion = 2

// MiB is 2^20 bytes.
const MiB = 1 << 20

// Config holds every rule and limit of the state machine. It is part of the
// state (and of the log header), so a replay runs under exactly the rules
// the node ran under. Defaults come from DefaultConfig; the numbers are
// those of DESIGN.md §7.
type Config struct {
	// Network is the network id; peers on another network are refused.
	Network string
	// ProtocolVersion is the highest protocol version we speak and
	// MinProtocolVersion the lowest we accept.
	ProtocolVersion    uint32
	MinProtocolVersion uint32
	// Software names this implementation in the handshake.
	Software string
	// Services is the bitmap of services we offer, announced in Hello.
	Services uint64
	// IDs is the peer ID scheme: only canonical IDs are accepted. The
	// node sets IDsLibp2p; the zero value, names, suits simulations.
	IDs IDScheme

	// OutboundTarget is the number of outbound peers the node keeps.
	OutboundTarget int
	// MaxInbound is the most inbound peers accepted (handshaking or ready).
	MaxInbound int
	// MaxPendingInbound caps inbound connections still in their handshake
	// (and those admitted only for addresses, see AddrsWhenFull).
	MaxPendingInbound int
	// AddrsWhenFull makes a node whose inbound places are all taken give a
	// newcomer addresses rather than turn it away with nothing, as a
	// CometBFT seed node does: within MaxPendingInbound, the newcomer's
	// handshake completes, its AddrListRequest is answered, and then it
	// is disconnected (too many peers). Without it, the first MaxInbound
	// nodes to reach a bootnode are the only ones that learn anything
	// from it.
	AddrsWhenFull bool
	// MaxServicePeers caps the outbound connections other parts of
	// go-libp2p (the DHT, GossipSub) open beyond OutboundTarget; each is
	// closed ServicePeerLinger after it came. With them, the node's
	// connections never exceed OutboundTarget + MaxInbound +
	// MaxServicePeers (and its manual peers).
	MaxServicePeers   int
	ServicePeerLinger time.Duration
	// MaxDialsPerTick bounds how many outbound dials one Tick starts.
	MaxDialsPerTick int
	// DialTimeout is how long a dial may take before it is abandoned. It
	// is the only dial timeout: the service gives go-libp2p a deadline a
	// second later, so the state machine always decides first.
	DialTimeout time.Duration
	// BackoffBase and BackoffCap shape the redial delay after a failure:
	// BackoffBase × 2^(failures-1), at most BackoffCap, minus up to 20 %
	// jitter drawn from the state RNG.
	BackoffBase time.Duration
	BackoffCap  time.Duration

	// HandshakeTimeout is how long a connection may stay in its handshake.
	HandshakeTimeout time.Duration
	// MaxClockSkew is the largest clock difference accepted in a handshake.
	MaxClockSkew time.Duration

	// PingInterval is the idle time after which a peer is pinged, and
	// PingTimeout how long it has to answer.
	PingInterval time.Duration
	PingTimeout  time.Duration

	// WriteStallTimeout is how long a write to a peer may make no
	// progress before the service reports it (WriteStalled) and the peer
	// is dropped as slow; GossipStallTimeout is the same for a peer's
	// GossipSub queue, which holds every broadcast back while it is full,
	// so it is much shorter.
	WriteStallTimeout  time.Duration
	GossipStallTimeout time.Duration
	// CloseTimeout bounds how long a close may spend writing what was
	// queued before it; CloseLinger how long it then waits for the peer
	// to read it and close its side, so the Disconnect reason arrives.
	CloseTimeout time.Duration
	CloseLinger  time.Duration
	// DisconnectTimeout is how long a peer may stay Disconnecting before
	// the state machine stops waiting for the service to confirm the
	// close (CloseTimedOut): no entry stays Disconnecting for ever.
	DisconnectTimeout time.Duration
	// MaxInboundStreams bounds the direct streams one peer may have open
	// to us at once: one in use and one that replaces it after a
	// reconnect. More are reset.
	MaxInboundStreams int

	// Bootnodes are dialled first and never dropped from the address book.
	Bootnodes []PeerAddr
	// MaxAddrList bounds an AddrListResponse; MaxAddrAnnounce an
	// AddrAnnounce. AddrRelayFanout is how many peers a new address is
	// relayed to.
	MaxAddrList     int
	MaxAddrAnnounce int
	AddrRelayFanout int
	// AddrRefresh is how long after its last answer a peer may be asked
	// for addresses again on the same connection: a node below its
	// outbound target with nobody left to dial, and every peer asked,
	// asks again the one it asked longest ago (it may have learned of
	// nodes that joined since).
	AddrRefresh time.Duration
	// AddrBookNew and AddrBookTried bound the two tables of the address
	// book; AddrBookPerGroup bounds the entries of one address group in
	// each table, so one /16 cannot fill the book.
	AddrBookNew      int
	AddrBookTried    int
	AddrBookPerGroup int
	// MaxAddrsPerPeer bounds the addresses kept for one peer.
	MaxAddrsPerPeer int
	// SaveInterval is how often a changed address book and ban list are
	// written to the data dir.
	SaveInterval time.Duration

	// BanThreshold is the misbehaviour score at which a peer is
	// disconnected and discouraged for DiscourageFor.
	BanThreshold  int
	DiscourageFor time.Duration
	// Scores per offence.
	ScoreMalformed   int
	ScoreOversized   int
	ScoreViolation   int
	ScoreUnsolicited int
	// ScoreFlood is what each throttling past FloodTolerance costs;
	// ScoreRejected what a broadcast the application rejected costs.
	// Throttlings count toward FloodTolerance while each comes within
	// FloodWindow of the one before: a flood goes straight back over
	// its budget, a busy honest peer now and then.
	ScoreFlood     int
	ScoreRejected  int
	FloodTolerance int
	FloodWindow    time.Duration

	// RecordPayloadLimit is the largest application payload recorded in
	// full in the action log; larger ones are recorded as their length and
	// SHA-256 (reducers never read application payloads). The service
	// computes the digest of every payload above it.
	RecordPayloadLimit int
	// MaxPendingBytes bounds the broadcast bytes held in validation: in
	// GossipSub's pipeline before they reach the state machine (a safety
	// net the service keeps, reported as counts) and waiting for an
	// application validator (the state machine's). Over it, new
	// broadcasts are ignored, not held.
	MaxPendingBytes int
	// RelayBudgetFactor scales a channel's Budget for what one peer may
	// relay from other authors (each author keeps the plain Budget), and
	// MaxGossipAuthors bounds the authors whose budgets are kept.
	RelayBudgetFactor int
	MaxGossipAuthors  int
	// MaxTransportMemory bounds the memory of the transport's buffers
	// (stream windows and the like) across all connections: the limit
	// go-libp2p's resource manager enforces, a hard safety net.
	MaxTransportMemory int
	// MaxSubscriptionsPerRPC bounds the topic subscriptions one GossipSub
	// RPC may carry; more is oversized. Only this network's topics are
	// kept at all.
	MaxSubscriptionsPerRPC int
	// FrameTimeout and MinFrameRate bound a direct frame once its header
	// has arrived: its bytes must all arrive within FrameTimeout plus
	// its size at MinFrameRate bytes per second, or the peer is dropped as
	// slow (ReadStalled; not scored).
	FrameTimeout time.Duration
	MinFrameRate int

	// RequestTimeout is how long a request waits for its response, and
	// how long we wait for the application to answer a peer's.
	// MaxRequestsPerPeer bounds the requests outstanding with one peer in
	// each direction: past it our Request fails with ErrBusy, and a
	// peer's request is answered "busy".
	RequestTimeout     time.Duration
	MaxRequestsPerPeer int

	// Sessions (state/session.go). SessionClassPercent is the chance, in
	// percent, that the geometric draw of peer choice stops at each class
	// (Chainweb's p = 0.95). A peer with more than SessionMaxFailures
	// successive failed sessions, no success for SessionPruneAfter and no
	// running session is pruned from the address book. A session whose
	// context has ended has SessionStopGrace to return before it is ended
	// without it.
	SessionClassPercent int
	SessionMaxFailures  int
	SessionPruneAfter   time.Duration
	SessionStopGrace    time.Duration

	// MaxMessageSize is the global ceiling on any message.
	MaxMessageSize int

	// DHTMode turns the Kademlia DHT on (client, server, or auto:
	// server when listening on a public address). Capabilities are
	// advertised as provider records, re-advertised at three quarters
	// of CapabilityTTL, failures retried after a jittered backoff in
	// [AdvertiseRetryMin, AdvertiseRetryMax]. The node keeps at least
	// WantPeersPerCapability address-book entries of each of
	// WantCapabilities, looking again every DHTLookupInterval while
	// short; a lookup or advertisement unanswered after DHTQueryTimeout
	// has failed. See state/dht.go.
	DHTMode                DHTMode
	Capabilities           []string
	WantCapabilities       []string
	WantPeersPerCapability int
	// OutboundPerCapability makes the dialler prefer, while fewer of
	// its outbound peers carry a wanted capability, candidates that do
	// (0: no preference).
	OutboundPerCapability int
	CapabilityTTL         time.Duration
	AdvertiseRetryMin     time.Duration
	AdvertiseRetryMax     time.Duration
	DHTLookupInterval     time.Duration
	DHTQueryTimeout       time.Duration

	// HTTPRateLimit requests per HTTPRateWindow may start to one peer
	// from our HTTP client; more wait (at most HTTPMaxWaiting per peer)
	// and give up after HTTPQueueTimeout. HTTPStreamTimeout bounds
	// opening the stream of one request and waiting for its response
	// header. See state/http.go.
	HTTPRateLimit     int
	HTTPRateWindow    time.Duration
	HTTPQueueTimeout  time.Duration
	HTTPMaxWaiting    int
	HTTPStreamTimeout time.Duration
	// Channels configures each channel, indexed by Channel: the control
	// channel first, then the application's (see ChannelConfig and
	// MinaChannels).
	Channels []ChannelConfig
}

// Backpressured says whether going over the budget of ch only slows a
// peer down — a direct channel other than control, which carries bulk
// transfers — rather than refusing its messages and, if it keeps on,
// scoring it.
func (c *Config) Backpressured(ch Channel) bool {
	return ch != ChannelControl && c.Channels[ch].Kind != Broadcast
}

// HasChannel reports whether ch is one of the configured channels.
func (c *Config) HasChannel(ch Channel) bool { return int(ch) < len(c.Channels) }

// ChannelName is ch's configured name, or its number if it has none.
func (c *Config) ChannelName(ch Channel) string {
	if c.HasChannel(ch) {
		return c.Channels[ch].Name
	}
	return ch.String()
}

// ChannelNames lists the configured channels' names, by number.
func (c *Config) ChannelNames() []string {
	names := make([]string, len(c.Channels))
	for i := range c.Channels {
		names[i] = c.Channels[i].Name
	}
	return names
}

// ChannelByName finds a configured channel by its name.
func (c *Config) ChannelByName(name string) (Channel, bool) {
	for i := range c.Channels {
		if c.Channels[i].Name == name {
			return Channel(i), true
		}
	}
	return 0, false
}

// DefaultConfig returns the defaults of DESIGN.md §7 for network.
func DefaultConfig(network string) Config {
	c := Config{
		Network:            network,
		ProtocolVersion:    ProtocolVersion,
		MinProtocolVersion: 2,
		Software:           "p2pcore",
		Services:           0,

		OutboundTarget:    8,
		MaxInbound:        64,
		MaxPendingInbound: 16,
		AddrsWhenFull:     true,
		MaxServicePeers:   8,
		ServicePeerLinger: 30 * time.Second,
		MaxDialsPerTick:   8,
		DialTimeout:       10 * time.Second,
		BackoffBase:       10 * time.Second,
		BackoffCap:        time.Hour,

		HandshakeTimeout: 10 * time.Second,
		MaxClockSkew:     10 * time.Second,

		PingInterval: 60 * time.Second,
		PingTimeout:  30 * time.Second,

		WriteStallTimeout:  30 * time.Second,
		GossipStallTimeout: 3 * time.Second,
		CloseTimeout:       5 * time.Second,
		CloseLinger:        time.Second,
		DisconnectTimeout:  15 * time.Second,
		MaxInboundStreams:  2,

		MaxAddrList:      1000,
		MaxAddrAnnounce:  10,
		AddrRelayFanout:  2,
		AddrRefresh:      30 * time.Second,
		AddrBookNew:      4096,
		AddrBookTried:    1024,
		AddrBookPerGroup: 64,
		MaxAddrsPerPeer:  4,
		SaveInterval:     time.Minute,

		BanThreshold:     100,
		DiscourageFor:    24 * time.Hour,
		ScoreMalformed:   100,
		ScoreOversized:   100,
		ScoreViolation:   20,
		ScoreUnsolicited: 20,
		ScoreFlood:       100,
		ScoreRejected:    25,
		FloodTolerance:   1,
		FloodWindow:      time.Minute,

		RecordPayloadLimit:     64 << 10,
		MaxPendingBytes:        32 * MiB,
		MaxSubscriptionsPerRPC: 100,
		RelayBudgetFactor:      16,
		MaxTransportMemory:     64 * MiB,
		MaxGossipAuthors:       1024,
		FrameTimeout:           10 * time.Second,
		MinFrameRate:           64 << 10,
		RequestTimeout:         10 * time.Second,
		MaxRequestsPerPeer:     16,

		SessionClassPercent: 95,
		SessionMaxFailures:  5,
		SessionPruneAfter:   12 * time.Hour,
		SessionStopGrace:    5 * time.Second,

		MaxMessageSize: 10 * MiB,
	}
	c.Channels = append([]ChannelConfig{ControlChannel()}, MinaChannels()...)
	c.dhtDefaults()
	c.httpDefaults()
	return c
}

// Validate reports the first setting that makes no sense, naming it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config %s: "+format, append([]any{field}, args...)...))
	}
	if c.Network == "" {
		bad("Network", "must not be empty")
	}
	if len(c.Network) > 64 {
		bad("Network", "is %d bytes long; at most 64", len(c.Network))
	}
	// This build speaks version 2 only (version 1 nodes use another
	// protocol ID): the range may not reach outside it.
	if c.MinProtocolVersion < 2 || c.MinProtocolVersion > c.ProtocolVersion || c.ProtocolVersion > ProtocolVersion {
		bad("ProtocolVersion", "range [%d, %d] must lie within [2, %d], the versions this build speaks", c.MinProtocolVersion, c.ProtocolVersion, ProtocolVersion)
	}
	if c.IDs > IDsLibp2p {
		bad("IDs", "unknown peer ID scheme %d", c.IDs)
	}
	if len(c.Software) > 64 {
		bad("Software", "is %d bytes long; at most 64", len(c.Software))
	}
	nonNeg := map[string]int{
		"OutboundTarget": c.OutboundTarget, "MaxInbound": c.MaxInbound, "MaxServicePeers": c.MaxServicePeers,
	}
	for _, name := range SortedKeys(nonNeg) {
		if nonNeg[name] < 0 {
			bad(name, "is %d; must not be negative", nonNeg[name])
		}
	}
	positive := map[string]int{
		"MaxPendingInbound": c.MaxPendingInbound, "MaxDialsPerTick": c.MaxDialsPerTick,
		"MaxAddrList": c.MaxAddrList, "MaxAddrAnnounce": c.MaxAddrAnnounce,
		"AddrBookNew": c.AddrBookNew, "AddrBookTried": c.AddrBookTried,
		"AddrBookPerGroup": c.AddrBookPerGroup, "MaxAddrsPerPeer": c.MaxAddrsPerPeer,
		"BanThreshold": c.BanThreshold, "MaxMessageSize": c.MaxMessageSize,
		"MaxInboundStreams":  c.MaxInboundStreams,
		"RecordPayloadLimit": c.RecordPayloadLimit, "MaxPendingBytes": c.MaxPendingBytes,
		"MaxSubscriptionsPerRPC": c.MaxSubscriptionsPerRPC, "MinFrameRate": c.MinFrameRate,
		"RelayBudgetFactor": c.RelayBudgetFactor, "MaxGossipAuthors": c.MaxGossipAuthors,
		"MaxTransportMemory": c.MaxTransportMemory, "MaxRequestsPerPeer": c.MaxRequestsPerPeer,
	}
	for _, name := range SortedKeys(positive) {
		if positive[name] <= 0 {
			bad(name, "is %d; must be positive", positive[name])
		}
	}
	durations := map[string]time.Duration{
		"DialTimeout": c.DialTimeout, "BackoffBase": c.BackoffBase, "BackoffCap": c.BackoffCap,
		"HandshakeTimeout": c.HandshakeTimeout, "MaxClockSkew": c.MaxClockSkew,
		"PingInterval": c.PingInterval, "PingTimeout": c.PingTimeout,
		"SaveInterval": c.SaveInterval, "DiscourageFor": c.DiscourageFor,
		"WriteStallTimeout": c.WriteStallTimeout, "GossipStallTimeout": c.GossipStallTimeout,
		"CloseTimeout": c.CloseTimeout, "CloseLinger": c.CloseLinger, "DisconnectTimeout": c.DisconnectTimeout,
		"FrameTimeout": c.FrameTimeout, "RequestTimeout": c.RequestTimeout, "FloodWindow": c.FloodWindow,
		"SessionPruneAfter": c.SessionPruneAfter, "SessionStopGrace": c.SessionStopGrace,
		"ServicePeerLinger": c.ServicePeerLinger,
	}
	for _, name := range SortedKeys(durations) {
		if durations[name] <= 0 {
			bad(name, "is %v; must be positive", durations[name])
		}
	}
	if c.BackoffCap < c.BackoffBase {
		bad("BackoffCap", "%v is below BackoffBase %v", c.BackoffCap, c.BackoffBase)
	}
	if c.ScoreFlood < 0 || c.ScoreRejected < 0 || c.FloodTolerance < 0 {
		bad("ScoreFlood", "ScoreFlood %d, ScoreRejected %d and FloodTolerance %d must not be negative", c.ScoreFlood, c.ScoreRejected, c.FloodTolerance)
	}
	if c.SessionClassPercent < 1 || c.SessionClassPercent > 100 {
		bad("SessionClassPercent", "is %d; must be 1 to 100", c.SessionClassPercent)
	}
	if c.SessionMaxFailures < 0 {
		bad("SessionMaxFailures", "is %d; must not be negative", c.SessionMaxFailures)
	}
	if c.AddrRelayFanout < 0 {
		bad("AddrRelayFanout", "is %d; must not be negative", c.AddrRelayFanout)
	}
	if c.MaxMessageSize > 64*MiB {
		bad("MaxMessageSize", "is %d; at most 64 MiB", c.MaxMessageSize)
	}
	c.validateChannels(bad)
	c.validateDHT(bad)
	c.validateHTTP(bad)
	for i, b := range c.Bootnodes {
		if b.ID == "" || len(b.Addrs) == 0 {
			bad(fmt.Sprintf("Bootnodes[%d]", i), "needs a peer ID and at least one address")
		}
	}
	return errors.Join(errs...)
}

// validateChannels checks the channel table: control first, then unique
// well-formed names, and sane sizes and budgets.
func (c *Config) validateChannels(bad func(field, format string, args ...any)) {
	if len(c.Channels) == 0 || c.Channels[0].Name != "control" || c.Channels[0].Kind != Direct {
		bad("Channels[0]", "must be the control channel (state.ControlChannel())")
	}
	if len(c.Channels) > MaxChannels {
		bad("Channels", "has %d channels; at most %d, control included", len(c.Channels), MaxChannels)
	}
	seen := make(map[string]int)
	for i, ch := range c.Channels {
		name := fmt.Sprintf("Channels[%d]", i)
		if ch.Name != "" {
			name = fmt.Sprintf("Channels[%d] (%s)", i, ch.Name)
		}
		if !ValidChannelName(ch.Name) {
			bad(name+".Name", "%q: want 1 to %d of a-z, 0-9, '_', '-', '.'", ch.Name, MaxChannelName)
		} else if j, dup := seen[ch.Name]; dup {
			bad(name+".Name", "%q is also the name of channel %d", ch.Name, j)
		}
		seen[ch.Name] = i
		if ch.Kind > Request {
			bad(name+".Kind", "unknown kind %d", ch.Kind)
		}
		if ch.Version == 0 {
			bad(name+".Version", "must be at least 1")
		}
		if ch.MaxSize <= 0 || ch.MaxSize > c.MaxMessageSize {
			bad(name+".MaxSize", "is %d; must be in 1..MaxMessageSize (%d)", ch.MaxSize, c.MaxMessageSize)
		}
		if ch.QueueLimit <= 0 {
			bad(name+".QueueLimit", "is %d; must be positive", ch.QueueLimit)
		}
		for _, b := range []struct {
			what string
			b    Budget
		}{{"Budget", ch.Budget}, {"Total", ch.Total}} {
			if b.b.Msgs < 0 || b.b.Bytes < 0 || b.b.Burst < 0 {
				bad(name+"."+b.what, "%+v has a negative part", b.b)
			}
			if (b.b.Msgs > 0 || b.b.Bytes > 0) && b.b.Burst <= 0 {
				bad(name+"."+b.what+".Burst", "must be positive when the budget has a rate")
			}
			if b.b.Bytes > 0 && int64(ch.MaxSize)*int64(time.Second)/int64(b.b.Bytes) > int64(b.b.Burst) {
				bad(name+"."+b.what, "a message of MaxSize (%d bytes) never fits a burst of %v at %d bytes/s", ch.MaxSize, b.b.Burst, b.b.Bytes)
			}
		}
		if ch.MaxAge < 0 {
			bad(name+".MaxAge", "is %v; must not be negative", ch.MaxAge)
		}
		if ch.Validated && ch.Kind != Broadcast {
			bad(name+".Validated", "only broadcast channels are validated")
		}
	}
}
