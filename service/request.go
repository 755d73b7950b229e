package service

import (
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// Request writes our request ID to a peer on a request channel. Outcome:
// the peer's response (ResponseReceived), or RequestFailed if it could not
// be written.
type Request struct {
	Peer    state.PeerID
	Channel state.Channel
	// Wire is the channel's number at the peer.
	Wire state.Channel
	ID   uint64
	Data []byte
	// Size and Sum stand for a payload recorded by digest, in a replay.
	Size uint64
	Sum  [32]byte
}

// Respond writes our answer to a peer's request ID. A failure to write it
// is not reported: the peer times out.
type Respond struct {
	Peer    state.PeerID
	Channel state.Channel
	Wire    state.Channel
	ID      uint64
	Status  state.RequestStatus
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Serve hands a peer's request to the application's handler for the
// channel; its answer comes back as SendResponse.
type Serve struct {
	Peer    state.PeerID
	Channel state.Channel
	ID      uint64
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Complete hands the outcome of our request ID to whoever made it.
type Complete struct {
	Peer   state.PeerID
	ID     uint64
	Status state.RequestStatus
	Data   []byte
	Size   uint64
	Sum    [32]byte
}

// The request/response command kinds.
const (
	CmdRequest  CommandKind = 14
	CmdRespond  CommandKind = 15
	CmdServe    CommandKind = 16
	CmdComplete CommandKind = 17
)

// CommandKind is CmdRequest.
func (Request) CommandKind() CommandKind { return CmdRequest }

// CommandKind is CmdRespond.
func (Respond) CommandKind() CommandKind { return CmdRespond }

// CommandKind is CmdServe.
func (Serve) CommandKind() CommandKind { return CmdServe }

// CommandKind is CmdComplete.
func (Complete) CommandKind() CommandKind { return CmdComplete }

// digestRequest adds a request command's fields to a digest.
func (g *Digester) digestRequest(c Command, b []byte, d *Digest) ([]byte, []byte) {
	var payload []byte
	var size uint64
	head := func(peer state.PeerID, ch, wire state.Channel, id uint64, st state.RequestStatus, data []byte, sz uint64, sum [32]byte) {
		b = appendString(b, string(peer))
		b = append(b, byte(ch), byte(wire), byte(st))
		b = appendUvarint(b, id)
		size, payload = g.payload(data, sz, sum)
		b = appendUvarint(b, size)
		d.Channel, d.Size = ch, size
	}
	switch c := c.(type) {
	case Request:
		head(c.Peer, c.Channel, c.Wire, c.ID, 0, c.Data, c.Size, c.Sum)
	case Respond:
		head(c.Peer, c.Channel, c.Wire, c.ID, c.Status, c.Data, c.Size, c.Sum)
	case Serve:
		head(c.Peer, c.Channel, 0, c.ID, 0, c.Data, c.Size, c.Sum)
	case Complete:
		head(c.Peer, 0, 0, c.ID, c.Status, c.Data, c.Size, c.Sum)
	}
	return b, payload
}

// formatRequest is the text form of a request command.
func formatRequest(c Command, n action.Names) string {
	switch c := c.(type) {
	case Request:
		return fmt.Sprintf("request %d to %s on %s: %d bytes", c.ID, c.Peer, n.Channel(c.Channel), payloadLen(c.Data, c.Size))
	case Respond:
		return fmt.Sprintf("respond %s to request %d of %s on %s: %d bytes", c.Status, c.ID, c.Peer, n.Channel(c.Channel), payloadLen(c.Data, c.Size))
	case Serve:
		return fmt.Sprintf("serve request %d of %s on %s: %d bytes", c.ID, c.Peer, n.Channel(c.Channel), payloadLen(c.Data, c.Size))
	case Complete:
		return fmt.Sprintf("complete request %d to %s: %s, %d bytes", c.ID, c.Peer, c.Status, payloadLen(c.Data, c.Size))
	}
	return fmt.Sprintf("%T", c)
}
