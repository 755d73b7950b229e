package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Gossip: every broadcast a peer relays to us goes through the state
// machine before GossipSub delivers or relays it. The service reports it
// (GossipReceived) and holds it until the verdict; the reducers decide —
// the sender admitted, the size within the channel's limit, the sender
// within its budget, the application's validator if the channel has one —
// and the verdict goes back to GossipSub as a command. What GossipSub
// drops before asking (bad signatures, duplicates, traffic from a
// throttled peer) is reported in counts (GossipStats).

// GossipReceived is a broadcast relayed by Peer, waiting for its verdict.
// Msg numbers it for this node's service. Author is the peer that signed
// it (its origin; Peer itself when Peer published it).
type GossipReceived struct {
	Peer    state.PeerID
	Author  state.PeerID
	Channel state.Channel
	Msg     uint64
	// Data, Size and Sum are the payload as in MessageReceived.
	Data []byte
	Size uint64
	Sum  [32]byte
}

// Kind is KindGossipReceived.
func (GossipReceived) Kind() Kind { return KindGossipReceived }

// Len is the payload's length, whether it is held or only its digest.
func (a GossipReceived) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes the action as a CBOR array of its fields: [peer,
// author, channel, msg, data], or [peer, author, channel, msg, size, sum]
// for a payload recorded by its digest.
func (a GossipReceived) EncodeCBOR(e *codec.Encoder) {
	digested := a.Data == nil && a.Size > 0
	if digested {
		e.Array(6)
	} else {
		e.Array(5)
	}
	e.Shared(string(a.Peer))
	e.Shared(string(a.Author))
	e.Uint(uint64(a.Channel))
	e.Uint(a.Msg)
	if digested {
		e.Uint(a.Size)
		e.Bytes(a.Sum[:])
		return
	}
	e.Bytes(a.Data)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is longer than limit.
func (a GossipReceived) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if len(a.Data) <= limit {
		return nil, false
	}
	a.Size, a.Sum, a.Data = uint64(len(a.Data)), sum(a.Data), nil
	return a, true
}

// GossipValidated is the application validator's verdict on a broadcast
// the state machine handed it (a channel with Validated set).
type GossipValidated struct {
	Msg     uint64
	Verdict state.Verdict
}

// Kind is KindGossipValidated.
func (GossipValidated) Kind() Kind { return KindGossipValidated }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a GossipValidated) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Uint(a.Msg)
	e.Uint(uint64(a.Verdict))
}

// GossipStats counts what GossipSub refused from Peer before asking the
// state machine, since the last report: broadcasts with a bad, missing or
// unexpected signature (Invalid), RPCs with more subscriptions than
// Config.MaxSubscriptionsPerRPC (Oversized), duplicates of messages
// already seen, and broadcasts dropped unread because the peer was
// throttled or the validation pipeline was full. Counts, not messages:
// what a peer floods us with costs the log a few bytes a second.
type GossipStats struct {
	Peer           state.PeerID
	Invalid        uint32
	Oversized      uint32
	Duplicates     uint32
	DuplicateBytes uint64
	Dropped        uint32
	DroppedBytes   uint64
}

// Kind is KindGossipStats.
func (GossipStats) Kind() Kind { return KindGossipStats }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a GossipStats) EncodeCBOR(e *codec.Encoder) {
	e.Array(7)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Invalid))
	e.Uint(uint64(a.Oversized))
	e.Uint(uint64(a.Duplicates))
	e.Uint(a.DuplicateBytes)
	e.Uint(uint64(a.Dropped))
	e.Uint(a.DroppedBytes)
}

// GossipOffered counts the broadcasts a peer sent on a channel since the
// last report, as they arrived — before any check, dropped or not: those it
// signed itself (Own) and those it relays for others. Reducers charge them
// to the peer's budget, so that a peer sending more than its share is
// throttled before its traffic costs signature checks and memory.
type GossipOffered struct {
	Peer         state.PeerID
	Channel      state.Channel
	Own          uint32
	OwnBytes     uint64
	Relayed      uint32
	RelayedBytes uint64
}

// Kind is KindGossipOffered.
func (GossipOffered) Kind() Kind { return KindGossipOffered }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a GossipOffered) EncodeCBOR(e *codec.Encoder) {
	e.Array(6)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(uint64(a.Own))
	e.Uint(a.OwnBytes)
	e.Uint(uint64(a.Relayed))
	e.Uint(a.RelayedBytes)
}

// Throttle is the decision to stop taking traffic from a peer that went
// over a channel's budget: its frames are not read and its broadcasts are
// dropped unread until Unthrottle.
type Throttle struct {
	Peer    state.PeerID
	Channel state.Channel
}

// Kind is KindThrottle.
func (Throttle) Kind() Kind { return KindThrottle }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Throttle) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
}

// Unthrottle is the decision to take a throttled peer's traffic again, its
// budgets having recovered.
type Unthrottle struct {
	Peer state.PeerID
}

// Kind is KindUnthrottle.
func (Unthrottle) Kind() Kind { return KindUnthrottle }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Unthrottle) EncodeCBOR(e *codec.Encoder) {
	e.Array(1)
	e.Shared(string(a.Peer))
}

func count32(d *codec.Decoder) uint32 { return uint32(d.UintMax(1<<32 - 1)) }

func init() {
	register(KindGossipReceived, "GossipReceived", true, func(d *codec.Decoder) (a GossipReceived) {
		n := d.ArrayMax(6)
		if n != 5 && n != 6 {
			d.Fail("want a GossipReceived of 5 or 6 fields")
			return
		}
		a.Peer, a.Author, a.Channel, a.Msg = peerID(d), peerID(d), channel(d), d.Uint()
		if n == 5 {
			a.Data = d.Bytes(MaxData)
		} else {
			a.Size, a.Sum = payloadSize(d), decodeSum(d)
		}
		return
	})
	register(KindGossipValidated, "GossipValidated", true, func(d *codec.Decoder) (a GossipValidated) {
		d.ArrayLen(2)
		a.Msg, a.Verdict = d.Uint(), state.Verdict(d.UintMax(255))
		return
	})
	register(KindGossipStats, "GossipStats", true, func(d *codec.Decoder) (a GossipStats) {
		d.ArrayLen(7)
		a.Peer, a.Invalid, a.Oversized = peerID(d), count32(d), count32(d)
		a.Duplicates, a.DuplicateBytes, a.Dropped, a.DroppedBytes = count32(d), d.Uint(), count32(d), d.Uint()
		return
	})
	register(KindGossipOffered, "GossipOffered", true, func(d *codec.Decoder) (a GossipOffered) {
		d.ArrayLen(6)
		a.Peer, a.Channel = peerID(d), channel(d)
		a.Own, a.OwnBytes, a.Relayed, a.RelayedBytes = count32(d), d.Uint(), count32(d), d.Uint()
		return
	})
	register(KindThrottle, "Throttle", false, func(d *codec.Decoder) (a Throttle) {
		d.ArrayLen(2)
		a.Peer, a.Channel = peerID(d), channel(d)
		return
	})
	register(KindUnthrottle, "Unthrottle", false, func(d *codec.Decoder) (a Unthrottle) {
		d.ArrayLen(1)
		a.Peer = peerID(d)
		return
	})
}
