package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// Connect dials a peer. From the API it is a manual dial that does not
// count against the outbound target; queued by the maintenance reducer it
// fills the target.
type Connect struct {
	Peer  state.PeerID
	Addrs []state.Addr
	// Manual is set for dials asked for through the API.
	Manual bool
}

// Kind is KindConnect.
func (Connect) Kind() Kind { return KindConnect }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Connect) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	encodeAddrs(e, a.Addrs)
	e.Bool(a.Manual)
}

// Connected reports that a dial we asked for reached the peer: the
// transport connection is up and the handshake can start.
type Connected struct {
	Peer state.PeerID
	// Addr is the remote address the connection uses.
	Addr state.Addr
}

// Kind is KindConnected.
func (Connected) Kind() Kind { return KindConnected }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Connected) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.String(string(a.Addr))
}

// ConnectionFailed reports that a dial we asked for failed.
type ConnectionFailed struct {
	Peer  state.PeerID
	Error string
}

// Kind is KindConnectionFailed.
func (ConnectionFailed) Kind() Kind { return KindConnectionFailed }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a ConnectionFailed) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.String(a.Error)
}

// IncomingConnection reports a connection the state machine did not ask
// for: a remote peer dialled us, or (Outbound set) another part of the
// libp2p stack — the DHT, GossipSub — dialled on its own. Either way the
// connection counts against our limits and the state machine decides to
// keep it or close it.
type IncomingConnection struct {
	Peer     state.PeerID
	Addr     state.Addr
	Outbound bool
}

// Kind is KindIncomingConnection.
func (IncomingConnection) Kind() Kind { return KindIncomingConnection }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a IncomingConnection) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.String(string(a.Addr))
	e.Bool(a.Outbound)
}

// Disconnect closes the connection to a peer, telling it why first.
type Disconnect struct {
	Peer   state.PeerID
	Reason state.Reason
}

// Kind is KindDisconnect.
func (Disconnect) Kind() Kind { return KindDisconnect }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Disconnect) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Reason))
}

// Disconnected reports that the service has no connection left to a peer:
// the confirmation of our close, a dial we cancelled, or the remote side
// going away.
type Disconnected struct {
	Peer  state.PeerID
	Error string
}

// Kind is KindDisconnected.
func (Disconnected) Kind() Kind { return KindDisconnected }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a Disconnected) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.String(a.Error)
}

// Shutdown begins the node's orderly stop: every peer is told why and
// closed, nobody new is dialled, and every new connection is refused with
// the reason "shutdown". It is recorded like any input, so a replay of a
// stopped node ends in the same state. There is no way back: a stopped
// node is closed and a new one started.
type Shutdown struct{}

// Kind is KindShutdown.
func (Shutdown) Kind() Kind { return KindShutdown }

// EncodeCBOR writes the action as an empty CBOR array.
func (Shutdown) EncodeCBOR(e *codec.Encoder) { e.Array(0) }

// WriteStalled reports that writing to a peer has made no progress for the
// configured time (Config.WriteStallTimeout for direct messages,
// GossipStallTimeout for the peer's GossipSub queue) while messages wait.
// The service only reports it; the reducer decides what a slow peer costs.
type WriteStalled struct {
	Peer state.PeerID
	// Gossip is set when it is the peer's GossipSub queue that stalled.
	Gossip bool
	// Queued is how many messages wait for the peer.
	Queued uint32
}

// Kind is KindWriteStalled.
func (WriteStalled) Kind() Kind { return KindWriteStalled }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a WriteStalled) EncodeCBOR(e *codec.Encoder) {
	e.Array(3)
	e.Shared(string(a.Peer))
	e.Bool(a.Gossip)
	e.Uint(uint64(a.Queued))
}

// ReadStalled reports a direct frame whose bytes stopped coming: its
// header arrived, and the rest did not within Config.FrameTimeout plus its
// size at Config.MinFrameRate. A peer that trickles a frame a byte at a
// time holds a reader and a buffer; the reducer drops it as slow.
type ReadStalled struct {
	Peer     state.PeerID
	Channel  state.Channel
	Size     uint64
	Received uint64
}

// Kind is KindReadStalled.
func (ReadStalled) Kind() Kind { return KindReadStalled }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a ReadStalled) EncodeCBOR(e *codec.Encoder) {
	e.Array(4)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Channel))
	e.Uint(a.Size)
	e.Uint(a.Received)
}

func init() {
	register(KindReadStalled, "ReadStalled", true, func(d *codec.Decoder) (a ReadStalled) {
		d.ArrayLen(4)
		a.Peer, a.Channel, a.Size, a.Received = peerID(d), channel(d), d.Uint(), d.Uint()
		return
	})
	register(KindWriteStalled, "WriteStalled", true, func(d *codec.Decoder) (a WriteStalled) {
		d.ArrayLen(3)
		a.Peer, a.Gossip, a.Queued = peerID(d), d.Bool(), uint32(d.UintMax(1<<32-1))
		return
	})
	register(KindShutdown, "Shutdown", true, func(d *codec.Decoder) Shutdown { d.ArrayLen(0); return Shutdown{} })
	register(KindConnect, "Connect", true, func(d *codec.Decoder) (a Connect) {
		d.ArrayLen(3)
		a.Peer, a.Addrs, a.Manual = peerID(d), decodeAddrs(d), d.Bool()
		return
	})
	register(KindConnected, "Connected", true, func(d *codec.Decoder) (a Connected) {
		d.ArrayLen(2)
		a.Peer, a.Addr = peerID(d), state.Addr(str(d))
		return
	})
	register(KindConnectionFailed, "ConnectionFailed", true, func(d *codec.Decoder) (a ConnectionFailed) {
		d.ArrayLen(2)
		a.Peer, a.Error = peerID(d), str(d)
		return
	})
	register(KindIncomingConnection, "IncomingConnection", true, func(d *codec.Decoder) (a IncomingConnection) {
		d.ArrayLen(3)
		a.Peer, a.Addr, a.Outbound = peerID(d), state.Addr(str(d)), d.Bool()
		return
	})
	register(KindDisconnect, "Disconnect", true, func(d *codec.Decoder) (a Disconnect) {
		d.ArrayLen(2)
		a.Peer, a.Reason = peerID(d), state.Reason(d.UintMax(255))
		return
	})
	register(KindDisconnected, "Disconnected", true, func(d *codec.Decoder) (a Disconnected) {
		d.ArrayLen(2)
		a.Peer, a.Error = peerID(d), str(d)
		return
	})
}

// DisconnectReceived is a decoded Disconnect from a peer: why it is about
// to close.
type DisconnectReceived struct {
	Peer   state.PeerID
	Reason state.Reason
}

// Kind is KindDisconnectReceived.
func (DisconnectReceived) Kind() Kind { return KindDisconnectReceived }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a DisconnectReceived) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	e.Uint(uint64(a.Reason))
}

// CloseTimedOut is the reducer's decision that a peer whose close the
// service has not confirmed within Config.DisconnectTimeout is gone.
type CloseTimedOut struct {
	Peer state.PeerID
}

// Kind is KindCloseTimedOut.
func (CloseTimedOut) Kind() Kind { return KindCloseTimedOut }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a CloseTimedOut) EncodeCBOR(e *codec.Encoder) {
	e.Array(1)
	e.Shared(string(a.Peer))
}

func init() {
	register(KindCloseTimedOut, "CloseTimedOut", false, func(d *codec.Decoder) (a CloseTimedOut) {
		d.ArrayLen(1)
		a.Peer = peerID(d)
		return
	})
	register(KindDisconnectReceived, "DisconnectReceived", false, func(d *codec.Decoder) (a DisconnectReceived) {
		d.ArrayLen(2)
		a.Peer, a.Reason = peerID(d), state.Reason(d.UintMax(255))
		return
	})
}
