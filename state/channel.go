package state

import (
	"fmt"
	"strconv"
	"time"
)

// Channel is a logical message stream, numbered by its place in
// Config.Channels. The control channel, number 0, carries the p2pcore
// protocol itself (handshake, ping, peer exchange, disconnect reasons) and
// is never exposed to the application; the others are the application's,
// as many as it defines (at most MaxChannels in all).
type Channel uint8

// ChannelControl is the control channel.
const ChannelControl Channel = 0

// MaxChannels bounds the number of channels, control included.
const MaxChannels = 64

// MaxChannelName bounds a channel's name.
const MaxChannelName = 32

// String names a channel by number; Config.ChannelName names it by its
// configured name.
func (c Channel) String() string {
	if c == ChannelControl {
		return "control"
	}
	return "ch" + strconv.Itoa(int(c))
}

// MarshalText writes the channel's number (or "control").
func (c Channel) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText accepts "control", "chN" or N.
func (c *Channel) UnmarshalText(b []byte) error {
	s := string(b)
	if s == "control" {
		*c = ChannelControl
		return nil
	}
	if len(s) > 2 && s[:2] == "ch" {
		s = s[2:]
	}
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil || v >= MaxChannels {
		return fmt.Errorf("unknown channel %q (want control, chN or N below %d)", b, MaxChannels)
	}
	*c = Channel(v)
	return nil
}

// ChannelKind is how a channel's messages travel.
type ChannelKind uint8

// Channel kinds.
const (
	// Direct messages go to one peer over the framed stream, one way.
	Direct ChannelKind = iota
	// Broadcast messages go to every subscriber over GossipSub.
	Broadcast
	// Request channels carry requests to one peer and their responses
	// over the framed stream (Node.Request, Node.Handle).
	Request
)

var channelKindNames = []string{"direct", "broadcast", "request"}

// String names the kind.
func (k ChannelKind) String() string { return enumText(channelKindNames, int(k), "kind") }

// MarshalText names the kind.
func (k ChannelKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind name.
func (k *ChannelKind) UnmarshalText(b []byte) error {
	v, err := enumParse(channelKindNames, b, "channel kind (direct, broadcast or request)")
	*k = ChannelKind(v)
	return err
}

// ChannelConfig is the policy of one channel. Two nodes share a channel
// when they both have one of the same Name, Kind and Version; they learn
// each other's in the handshake, and a channel's number on the wire is the
// receiver's.
type ChannelConfig struct {
	// Name identifies the channel between nodes and in GossipSub topics
	// (/p2pcore/<network>/<name>/<version>): lower-case letters, digits,
	// '_', '-' and '.', at most MaxChannelName bytes.
	Name string
	Kind ChannelKind
	// Version is the channel's message format; nodes with different
	// versions of a channel do not share it.
	Version uint32
	// Priority channels are high priority: their messages are written
	// before bulk ones in every outgoing queue.
	Priority bool
	// MaxSize bounds one message (on a request channel, one request or
	// response).
	MaxSize int
	// QueueLimit bounds messages handed to the service and not yet sent:
	// per channel for broadcasts, per peer and channel for direct sends.
	// A full queue refuses new messages with ErrQueueFull; it never drops.
	QueueLimit int
	// Budget is what one peer may send on the channel; Total is what the
	// node accepts from all peers together on a broadcast channel, so that
	// what it holds and relays does not grow with the number of senders
	// (past it, broadcasts are ignored, and nobody is blamed).
	Budget Budget
	Total  Budget
	// Validated broadcast channels hand each message to an application
	// validator before it is delivered or relayed.
	Validated bool
	// MaxAge, if set, is how long a message may wait in an outgoing
	// queue: one older when its turn comes is dropped rather than sent
	// late (votes of a past round, say), and counted (Expired). Zero
	// keeps every message until it is sent. Direct and broadcast
	// channels only: requests have RequestTimeout, and the control
	// channel keeps everything.
	MaxAge time.Duration
}

// IsBroadcast reports whether the channel travels over GossipSub.
func (c *ChannelConfig) IsBroadcast() bool { return c.Kind == Broadcast }

// ControlChannel is the control channel's configuration: high priority,
// messages up to 256 KiB, a budget that leaves honest peers (a ping a
// minute, a handshake, a few address lists) far inside it.
func ControlChannel() ChannelConfig {
	return ChannelConfig{Name: "control", Kind: Direct, Version: 1, Priority: true, MaxSize: 256 << 10,
		QueueLimit: 1 << 16, Budget: Budget{Msgs: 20, Bytes: 1 * MiB, Burst: 10 * time.Second}}
}

// MinaChannels is Mina's channel set, the preset the demo, the simulator
// and the tests use (and the node, when its configuration names no
// channels): numbered 1 to 4 after control, as package channel names them.
// Budgets leave honest peers far inside them (a block a second) and stop a
// flood within seconds.
func MinaChannels() []ChannelConfig {
	return []ChannelConfig{
		{Name: "block", Kind: Broadcast, Version: 1, Priority: true, MaxSize: 10 * MiB, QueueLimit: 64,
			Budget: Budget{Msgs: 10, Bytes: 2 * MiB, Burst: 10 * time.Second},
			Total:  Budget{Msgs: 100, Bytes: 4 * MiB, Burst: 3 * time.Second}},
		{Name: "transaction", Kind: Broadcast, Version: 1, MaxSize: 1 * MiB, QueueLimit: 4096,
			Budget: Budget{Msgs: 5000, Bytes: 16 * MiB, Burst: 5 * time.Second},
			Total:  Budget{Msgs: 50000, Bytes: 32 * MiB, Burst: 2 * time.Second}},
		{Name: "snark_work", Kind: Broadcast, Version: 1, MaxSize: 4 * MiB, QueueLimit: 1024,
			Budget: Budget{Msgs: 500, Bytes: 16 * MiB, Burst: 5 * time.Second},
			Total:  Budget{Msgs: 5000, Bytes: 32 * MiB, Burst: 2 * time.Second}},
		{Name: "sync", Kind: Direct, Version: 1, MaxSize: 10 * MiB, QueueLimit: 256,
			Budget: Budget{Msgs: 1000, Bytes: 64 * MiB, Burst: 5 * time.Second}},
	}
}

// ValidChannelName reports whether name may name a channel.
func ValidChannelName(name string) bool {
	if name == "" || len(name) > MaxChannelName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ChannelState is the flow state of one channel on this node.
type ChannelState struct {
	// InFlight counts broadcasts handed to the service and not yet
	// reported published; it is bounded by the channel's QueueLimit.
	InFlight int
	// Published, Sent and Received count broadcasts, direct messages
	// sent, and messages received. Messages the API could not queue are
	// counted with the dropped actions.
	Published uint64
	Sent      uint64
	Received  uint64
	// Refused counts messages refused from peers: over budget, throttled,
	// or (broadcasts) not admitted. Expired counts ours dropped for the
	// channel's MaxAge.
	Refused uint64
	Expired uint64
	// Total is the channel's use of its Total budget: the broadcasts
	// accepted from all peers together.
	Total Bucket
}
