package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// MessageReceived is a direct or control message from a peer (broadcasts
// arrive as GossipReceived).
type MessageReceived struct {
	Peer    state.PeerID
	Channel state.Channel
	// Data is the message. A log records a large application payload as
	// its Size and SHA-256 Sum only; a replay then has no Data (reducers
	// never read application payloads; Len is the length either way).
	Data []byte
	Size uint64
	Sum  [32]byte
}

// Kind is KindMessageReceived.
func (MessageReceived) Kind() Kind { return KindMessageReceived }

// Len is the payload's length, whether it is held or only its digest.
func (a MessageReceived) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes the action as a CBOR array of its fields: [peer,
// channel, data], or [peer, channel, size, sum] for a payload recorded by
// its digest.
func (a MessageReceived) EncodeCBOR(e *codec.Encoder) {
	if a.Data == nil && a.Size > 0 {
		e.Array(4)
		e.Shared(string(a.Peer))
		e.Uint(uint64(a.Channel))
		e.Uint(a.Size)
		e.Bytes(a.Sum[:])
		return
	}
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Bytes(a.Data)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is an application's and longer than limit.
func (a MessageReceived) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if a.Channel == state.ChannelControl || len(a.Data) <= limit {
		return nil, false
	}
	a.Size, a.Sum, a.Data = uint64(len(a.Data)), sum(a.Data), nil
	return a, true
}

// BroadcastMessage publishes a message on a broadcast channel. Data, Size
// and Sum are the payload as in MessageReceived.
type BroadcastMessage struct {
	Channel state.Channel
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Kind is KindBroadcastMessage.
func (BroadcastMessage) Kind() Kind { return KindBroadcastMessage }

// Len is the payload's length, whether it is held or only its digest.
func (a BroadcastMessage) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes the action as a CBOR array of its fields: [channel,
// data], or [channel, size, sum] for a payload recorded by its digest.
func (a BroadcastMessage) EncodeCBOR(e *codec.Encoder) {
	if a.Data == nil && a.Size > 0 {
		e.Array(3)
		e.Uint(uint64(a.Channel))
		e.Uint(a.Size)
		e.Bytes(a.Sum[:])
		return
	}
	e.Array(2)
	e.Uint(uint64(a.Channel))
	e.Bytes(a.Data)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is longer than limit.
func (a BroadcastMessage) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if len(a.Data) <= limit {
		return nil, false
	}
	a.Size, a.Sum, a.Data = uint64(len(a.Data)), sum(a.Data), nil
	return a, true
}

// SendMessage sends a direct message to one ready peer. Data, Size and Sum
// are the payload as in MessageReceived.
type SendMessage struct {
	Peer    state.PeerID
	Channel state.Channel
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Kind is KindSendMessage.
func (SendMessage) Kind() Kind { return KindSendMessage }

// Len is the payload's length, whether it is held or only its digest.
func (a SendMessage) Len() int { return payloadLen(a.Data, a.Size) }

// EncodeCBOR writes the action as a CBOR array of its fields: [peer,
// channel, data], or [peer, channel, size, sum] for a payload recorded by
// its digest.
func (a SendMessage) EncodeCBOR(e *codec.Encoder) {
	if a.Data == nil && a.Size > 0 {
		e.Array(4)
		e.Shared(string(a.Peer))
		e.Uint(uint64(a.Channel))
		e.Uint(a.Size)
		e.Bytes(a.Sum[:])
		return
	}
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Bytes(a.Data)
}

// Digested returns the action with its payload replaced by its length and
// sum, when the payload is an application's and longer than limit.
func (a SendMessage) Digested(limit int, sum func([]byte) [32]byte) (Action, bool) {
	if a.Channel == state.ChannelControl || len(a.Data) <= limit {
		return nil, false
	}
	a.Size, a.Sum, a.Data = uint64(len(a.Data)), sum(a.Data), nil
	return a, true
}

// Sent reports that the service wrote Count direct messages on a channel to
// a peer (or gave up on them because the connection closed), freeing their
// place in the queue.
type Sent struct {
	Peer    state.PeerID
	Channel state.Channel
	Count   uint32
}

// Kind is KindSent.
func (Sent) Kind() Kind { return KindSent }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Sent) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(uint64(a.Count))
}

// Published reports that the service handed Count broadcasts on a channel
// to the network, freeing their place in the queue.
type Published struct {
	Channel state.Channel
	Count   uint32
}

// Kind is KindPublished.
func (Published) Kind() Kind { return KindPublished }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Published) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Uint(uint64(a.Channel))
	e.Uint(uint64(a.Count))
}

// SendFailed reports that the service could not write Count direct or
// control messages on a channel to a peer (the connection closed, the
// stream failed, the peer ID was not one it could address), freeing their
// place in the queue. Error is the service's reason, one line.
type SendFailed struct {
	Peer    state.PeerID
	Channel state.Channel
	Count   uint32
	Error   string
}

// Kind is KindSendFailed.
func (SendFailed) Kind() Kind { return KindSendFailed }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a SendFailed) EncodeCBOR(e *codec.Encoder) {
	e.Array(4)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(uint64(a.Count))
	e.String(a.Error)
}

// PublishFailed reports that the service could not hand Count broadcasts
// on a channel to the network, freeing their place in the queue.
type PublishFailed struct {
	Channel state.Channel
	Count   uint32
	Error   string
}

// Kind is KindPublishFailed.
func (PublishFailed) Kind() Kind { return KindPublishFailed }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a PublishFailed) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Uint(uint64(a.Channel))
	e.Uint(uint64(a.Count))
	e.String(a.Error)
}

// Expired reports Count of our messages on a channel that the service
// dropped unsent because they waited longer than the channel's MaxAge:
// direct messages to Peer, or broadcasts when Peer is empty. It frees
// their places in the queue.
type Expired struct {
	Peer    state.PeerID
	Channel state.Channel
	Count   uint32
}

// Kind is KindExpired.
func (Expired) Kind() Kind { return KindExpired }

// EncodeCBOR writes [peer, channel, count].
func (a Expired) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(uint64(a.Count))
}

func init() {
	register(KindExpired, "Expired", true, func(d *codec.Decoder) (a Expired) {
		d.ArrayLen(3)
		a.Peer, a.Channel, a.Count = peerID(d), channel(d), uint32(d.UintMax(1<<32-1))
		return
	})
	register(KindSendFailed, "SendFailed", true, func(d *codec.Decoder) (a SendFailed) {
		d.ArrayLen(4)
		a.Peer, a.Channel, a.Count, a.Error = peerID(d), channel(d), uint32(d.UintMax(1<<32-1)), str(d)
		return
	})
	register(KindPublishFailed, "PublishFailed", true, func(d *codec.Decoder) (a PublishFailed) {
		d.ArrayLen(3)
		a.Channel, a.Count, a.Error = channel(d), uint32(d.UintMax(1<<32-1)), str(d)
		return
	})
	register(KindMessageReceived, "MessageReceived", true, func(d *codec.Decoder) (a MessageReceived) {
		switch d.ArrayMax(4) {
		case 3:
			a.Peer, a.Channel, a.Data = peerID(d), channel(d), d.Bytes(MaxData)
		case 4:
			a.Peer, a.Channel, a.Size, a.Sum = peerID(d), channel(d), payloadSize(d), decodeSum(d)
		default:
			d.Fail("want a MessageReceived of 3 or 4 fields")
		}
		return
	})
	register(KindBroadcastMessage, "BroadcastMessage", true, func(d *codec.Decoder) (a BroadcastMessage) {
		switch d.ArrayMax(3) {
		case 2:
			a.Channel, a.Data = channel(d), d.Bytes(MaxData)
		case 3:
			a.Channel, a.Size, a.Sum = channel(d), payloadSize(d), decodeSum(d)
		default:
			d.Fail("want a BroadcastMessage of 2 or 3 fields")
		}
		return
	})
	register(KindSendMessage, "SendMessage", true, func(d *codec.Decoder) (a SendMessage) {
		switch d.ArrayMax(4) {
		case 3:
			a.Peer, a.Channel, a.Data = peerID(d), channel(d), d.Bytes(MaxData)
		case 4:
			a.Peer, a.Channel, a.Size, a.Sum = peerID(d), channel(d), payloadSize(d), decodeSum(d)
		default:
			d.Fail("want a SendMessage of 3 or 4 fields")
		}
		return
	})
	register(KindSent, "Sent", true, func(d *codec.Decoder) (a Sent) {
		d.ArrayLen(3)
		a.Peer, a.Channel, a.Count = peerID(d), channel(d), uint32(d.UintMax(1<<32-1))
		return
	})
	register(KindPublished, "Published", true, func(d *codec.Decoder) (a Published) {
		d.ArrayLen(2)
		a.Channel, a.Count = channel(d), uint32(d.UintMax(1<<32-1))
		return
	})
}
