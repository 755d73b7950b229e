package main

import (
	"reflect"

	"github.com/p2pcore/p2pcore/state"
)

// This file is the table of the protocol settings a config file sets: one
// line of documentation and a unit for every field of state.Config,
// state.ChannelConfig and state.Budget. The defaults are not repeated here:
// they are state.DefaultConfig's, read by reflection. `p2pnode run --help`,
// `p2pnode run --print-defaults` and the README's configuration reference
// are all made from the two (TestSettingsDocumentEveryField and
// TestREADMEConfigReference keep them complete and in sync).

// unit says what a setting's number counts, for writing it readably.
type unit uint8

const (
	unitPlain          unit = iota // a count, a score, a duration, a name…
	unitBytes                      // bytes: written "10MiB" where exact
	unitBytesPerSecond             // bytes per second: "64KiB/s" in tables
)

// setting documents one field.
type setting struct {
	unit unit
	doc  string
}

var (
	configType  = reflect.TypeFor[state.Config]()
	channelType = reflect.TypeFor[state.ChannelConfig]()
	budgetType  = reflect.TypeFor[state.Budget]()
)

// elsewhere are the state.Config fields that "rules" may not set, and why:
// other keys (or the node itself) set them.
var elsewhere = map[string]string{
	"Network":   `set by the top-level "network" (or --network)`,
	"IDs":       "a node always uses libp2p peer IDs",
	"Bootnodes": `set by the top-level "bootstrap" (or --bootstrap)`,
	"Channels":  `set by the top-level "control" (channel 0) and "channels" (the application's)`,
}

// settings documents every field of the structs a config file sets.
var settings = map[reflect.Type]map[string]setting{
	configType: {
		"ProtocolVersion":        {unitPlain, "highest wire protocol version spoken"},
		"MinProtocolVersion":     {unitPlain, "lowest wire protocol version accepted"},
		"Software":               {unitPlain, "implementation name sent in the handshake (at most 64 bytes)"},
		"Services":               {unitPlain, "bitmap of the services offered, sent in Hello"},
		"OutboundTarget":         {unitPlain, "outbound peers kept"},
		"MaxInbound":             {unitPlain, "inbound peers accepted (handshaking or ready)"},
		"MaxPendingInbound":      {unitPlain, "inbound connections still in their handshake (or admitted only for addresses)"},
		"AddrsWhenFull":          {unitPlain, "with every inbound place taken, give a newcomer addresses, then disconnect it, rather than refuse it at once"},
		"MaxServicePeers":        {unitPlain, "outbound connections the DHT or GossipSub open beyond OutboundTarget (service peers)"},
		"ServicePeerLinger":      {unitPlain, "time a service peer is kept"},
		"MaxDialsPerTick":        {unitPlain, "outbound dials one tick may start"},
		"DialTimeout":            {unitPlain, "time a dial may take"},
		"BackoffBase":            {unitPlain, "first redial delay after a failure, doubled per failure, minus up to 20 % jitter"},
		"BackoffCap":             {unitPlain, "longest redial delay"},
		"HandshakeTimeout":       {unitPlain, "time a connection may stay in its handshake"},
		"MaxClockSkew":           {unitPlain, "largest clock difference accepted in a handshake"},
		"PingInterval":           {unitPlain, "idle time after which a peer is pinged"},
		"PingTimeout":            {unitPlain, "time a peer has to answer a ping"},
		"WriteStallTimeout":      {unitPlain, "time a write may make no progress before the peer is dropped as slow"},
		"GossipStallTimeout":     {unitPlain, "time a peer's GossipSub queue may stay full before it is dropped as slow"},
		"CloseTimeout":           {unitPlain, "time a close may spend writing what was queued before it"},
		"CloseLinger":            {unitPlain, "time a close then waits for the peer to read and close its side"},
		"DisconnectTimeout":      {unitPlain, "time a peer may stay Disconnecting before the close is taken as done"},
		"MaxInboundStreams":      {unitPlain, "direct streams one peer may have open to us"},
		"MaxAddrList":            {unitPlain, "addresses in one AddrListResponse"},
		"MaxAddrAnnounce":        {unitPlain, "addresses in one AddrAnnounce"},
		"AddrRelayFanout":        {unitPlain, "peers a new address is relayed to"},
		"AddrRefresh":            {unitPlain, "after this, a peer that answered may be asked for addresses again (by a node short of peers to dial)"},
		"AddrBookNew":            {unitPlain, "entries of the address book's new table"},
		"AddrBookTried":          {unitPlain, "entries of the address book's tried table"},
		"AddrBookPerGroup":       {unitPlain, "entries of one address group (/16, /32) in each table"},
		"MaxAddrsPerPeer":        {unitPlain, "addresses kept for one peer"},
		"SaveInterval":           {unitPlain, "how often a changed address book and ban list are saved"},
		"BanThreshold":           {unitPlain, "misbehaviour score at which a peer is disconnected and discouraged"},
		"DiscourageFor":          {unitPlain, "how long a peer that reached BanThreshold stays discouraged"},
		"ScoreMalformed":         {unitPlain, "score of a malformed message"},
		"ScoreOversized":         {unitPlain, "score of an oversized message"},
		"ScoreViolation":         {unitPlain, "score of a protocol violation"},
		"ScoreUnsolicited":       {unitPlain, "score of an unsolicited message"},
		"ScoreFlood":             {unitPlain, "score of each throttling past FloodTolerance (control and broadcast channels)"},
		"ScoreRejected":          {unitPlain, "score of a broadcast the application rejected"},
		"FloodTolerance":         {unitPlain, "throttlings forgiven before ScoreFlood applies"},
		"FloodWindow":            {unitPlain, "throttlings count as one flood while each comes within this of the last"},
		"RecordPayloadLimit":     {unitBytes, "largest application payload recorded in full in the action log"},
		"MaxPendingBytes":        {unitBytes, "broadcast bytes held in validation, in GossipSub and for validators"},
		"RelayBudgetFactor":      {unitPlain, "a relaying peer's budget, in multiples of a channel's Budget"},
		"MaxGossipAuthors":       {unitPlain, "authors of relayed broadcasts whose budgets are kept"},
		"MaxTransportMemory":     {unitBytes, "transport buffer memory, all connections (go-libp2p resource manager)"},
		"MaxSubscriptionsPerRPC": {unitPlain, "topic subscriptions in one GossipSub RPC"},
		"FrameTimeout":           {unitPlain, "time a direct frame may take once its header arrived, plus its size at MinFrameRate"},
		"MinFrameRate":           {unitBytesPerSecond, "slowest rate a direct frame may arrive at"},
		"RequestTimeout":         {unitPlain, "time a request waits for its response, and the application has to answer a peer's"},
		"MaxRequestsPerPeer":     {unitPlain, "requests outstanding with one peer in each direction (past it: busy)"},
		"SessionClassPercent":    {unitPlain, "chance in percent that session peer choice stops at each class (Chainweb's p = 0.95)"},
		"SessionMaxFailures":     {unitPlain, "successive failed sessions past which a peer may be pruned from the address book"},
		"SessionPruneAfter":      {unitPlain, "time without a successful session after which such a peer is pruned"},
		"SessionStopGrace":       {unitPlain, "time a stopped session has to return before it is ended without it"},
		"MaxMessageSize":         {unitBytes, "ceiling on any message of any channel (at most 64MiB)"},
		"DHTMode":                {unitPlain, `Kademlia DHT: "off", "client", "server" or "auto" (server when listening on a public address)`},
		"Capabilities":           {unitPlain, `capabilities advertised in the DHT ("archival", "gossip", "relay" or the application's)`},
		"WantCapabilities":       {unitPlain, "capabilities of which the address book keeps WantPeersPerCapability peers, found through the DHT"},
		"WantPeersPerCapability": {unitPlain, "peers of each wanted capability kept in the address book"},
		"OutboundPerCapability":  {unitPlain, "outbound peers with each wanted capability the dialler prefers to keep (0: no preference)"},
		"CapabilityTTL":          {unitPlain, "lifetime of a capability's provider record; re-advertised at three quarters of it"},
		"AdvertiseRetryMin":      {unitPlain, "shortest delay before a failed advertisement or lookup is retried (jittered)"},
		"AdvertiseRetryMax":      {unitPlain, "longest such delay (doubling per failure)"},
		"DHTLookupInterval":      {unitPlain, "how often a wanted capability short of peers is looked up again"},
		"DHTQueryTimeout":        {unitPlain, "time an advertisement or lookup may take"},
		"HTTPRateLimit":          {unitPlain, "HTTP requests over libp2p that may start to one peer per HTTPRateWindow"},
		"HTTPRateWindow":         {unitPlain, "the HTTP rate limit's window"},
		"HTTPQueueTimeout":       {unitPlain, "time an HTTP request may wait for room in its peer's window (then ErrQueueingTimeout)"},
		"HTTPMaxWaiting":         {unitPlain, "HTTP requests waiting for one peer's window (more fail at once)"},
		"HTTPStreamTimeout":      {unitPlain, "time an HTTP request over libp2p may take to open its stream and get its response header"},
	},
	channelType: {
		"Name":       {unitPlain, "a-z, 0-9, '_', '-', '.' (at most 32); names the channel to peers and in GossipSub topics"},
		"Kind":       {unitPlain, `"direct", "broadcast" (GossipSub) or "request" (request/response)`},
		"Version":    {unitPlain, "message format version, at least 1; peers share a channel of the same name, kind and version"},
		"Priority":   {unitPlain, "written before bulk channels in every outgoing queue"},
		"MaxSize":    {unitBytes, "largest message (request or response), at most MaxMessageSize"},
		"QueueLimit": {unitPlain, "messages queued and not yet sent (per channel, or per peer for direct)"},
		"Budget":     {unitPlain, "what one peer may send: {Msgs, Bytes, Burst}"},
		"Total":      {unitPlain, "what all peers together may send on a broadcast channel: {Msgs, Bytes, Burst}"},
		"Validated":  {unitPlain, "broadcasts wait for the application's validator (broadcast channels only)"},
		"MaxAge":     {unitPlain, "a message waiting longer than this to be sent is dropped and counted (0: never; not control or request)"},
	},
	budgetType: {
		"Msgs":  {unitPlain, "messages per second (0: unlimited)"},
		"Bytes": {unitBytesPerSecond, "bytes per second (0: unlimited)"},
		"Burst": {unitPlain, "how much above the rate may come at once, in time at the rate"},
	},
}

// settingOf is the documentation of field of owner (the zero setting if
// it has none).
func settingOf(owner reflect.Type, field string) setting {
	return settings[owner][field]
}
