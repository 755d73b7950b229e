package service

import (
	"fmt"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// The session commands. A session is a stream of the connection to its
// peer, /p2pcore/<network>/session/<name>/1, carrying length-prefixed
// frames (see service/libp2p/session.go); the application's side of it —
// its callback, its receive buffer — is a SessionApp.
const (
	CmdOpenSession    CommandKind = 20
	CmdSessionWrite   CommandKind = 21
	CmdSessionDeliver CommandKind = 22
	CmdEndSession     CommandKind = 23
)

// OpenSession starts session ID: the service opens its stream to Peer on
// the existing connection (never dialling), or takes the inbound Stream
// the peer opened, and the SessionApp starts the network's callback.
// Outcomes: the peer's messages (SessionReceived), its close
// (SessionPeerClosed), or a failure (SessionFailed); the callback's end
// comes from the SessionApp (SessionEnded).
type OpenSession struct {
	ID      uint64
	Peer    state.PeerID
	Network string
	// Stream is the inbound stream, 0 for a session we start.
	Stream uint64
	// Timeout is the session's drawn timeout (the state machine stops it
	// then; the SessionApp only reports it).
	Timeout        time.Duration
	BufferMessages int
	BufferBytes    int
	MaxMessage     int
}

// SessionWrite writes one message of session ID to its peer, or, with
// Close, closes our end of its stream. A failure comes back as
// SessionFailed.
type SessionWrite struct {
	ID    uint64
	Close bool
	Data  []byte
	// Size and Sum stand for a payload recorded by digest, in a replay.
	Size uint64
	Sum  [32]byte
}

// SessionDeliver hands the SessionApp a message of session ID's peer, or
// with EOF the news that the peer closed its end.
type SessionDeliver struct {
	ID   uint64
	EOF  bool
	Data []byte
	Size uint64
	Sum  [32]byte
}

// EndSession ends session ID: Outcome running means it is over (its
// callback returned; the stream is closed), any other that it is stopped
// for that reason (its context ends with the matching error, and a
// timeout or overflow is told to the peer before the stream is reset).
// With ID 0 it refuses the inbound Stream of Peer.
type EndSession struct {
	ID      uint64
	Outcome state.SessionOutcome
	Peer    state.PeerID
	Stream  uint64
}

// SessionApp is the application's side of sessions: it runs each
// session's callback with a connection whose Send and Close become input
// actions, buffers what the state machine delivers, and reports how the
// callback ended (SessionEnded) or that its buffer overflowed
// (SessionFailed). session.Runner implements it.
type SessionApp interface {
	Open(c OpenSession)
	Deliver(c SessionDeliver)
	End(c EndSession)
}

// CommandKind is CmdOpenSession.
func (OpenSession) CommandKind() CommandKind { return CmdOpenSession }

// CommandKind is CmdSessionWrite.
func (SessionWrite) CommandKind() CommandKind { return CmdSessionWrite }

// CommandKind is CmdSessionDeliver.
func (SessionDeliver) CommandKind() CommandKind { return CmdSessionDeliver }

// CommandKind is CmdEndSession.
func (EndSession) CommandKind() CommandKind { return CmdEndSession }

// SessionProtocol is the protocol ID of a session network's streams.
func SessionProtocol(network, name string) string {
	return "/p2pcore/" + network + "/session/" + name + "/1"
}

// executeSession carries out a session command.
func executeSession(svc Service, c Command) {
	switch c := c.(type) {
	case OpenSession:
		svc.OpenSession(c)
	case SessionWrite:
		svc.SessionWrite(c)
	case SessionDeliver:
		svc.SessionDeliver(c)
	case EndSession:
		svc.EndSession(c)
	}
}

// digestSession adds a session command's fields to a digest.
func (g *Digester) digestSession(c Command, b []byte, d *Digest) ([]byte, []byte) {
	var payload []byte
	flag := func(v bool) byte {
		if v {
			return 1
		}
		return 0
	}
	switch c := c.(type) {
	case OpenSession:
		b = appendUvarint(b, c.ID)
		b = appendString(b, string(c.Peer))
		b = appendString(b, c.Network)
		for _, v := range []uint64{c.Stream, uint64(c.Timeout), uint64(c.BufferMessages), uint64(c.BufferBytes), uint64(c.MaxMessage)} {
			b = appendUvarint(b, v)
		}
		d.Size = c.ID
	case SessionWrite:
		var size uint64
		size, payload = g.payload(c.Data, c.Size, c.Sum)
		b = appendUvarint(b, c.ID)
		b = append(b, flag(c.Close))
		b = appendUvarint(b, size)
		d.Size = size
	case SessionDeliver:
		var size uint64
		size, payload = g.payload(c.Data, c.Size, c.Sum)
		b = appendUvarint(b, c.ID)
		b = append(b, flag(c.EOF))
		b = appendUvarint(b, size)
		d.Size = size
	case EndSession:
		b = appendUvarint(b, c.ID)
		b = append(b, byte(c.Outcome))
		b = appendString(b, string(c.Peer))
		b = appendUvarint(b, c.Stream)
		d.Size = c.ID
	}
	return b, payload
}

// formatSession is the text form of a session command.
func formatSession(c Command) string {
	switch c := c.(type) {
	case OpenSession:
		if c.Stream != 0 {
			return fmt.Sprintf("open session %d of %s with %s on stream %d for %v", c.ID, c.Network, c.Peer, c.Stream, c.Timeout)
		}
		return fmt.Sprintf("open session %d of %s with %s for %v", c.ID, c.Network, c.Peer, c.Timeout)
	case SessionWrite:
		if c.Close {
			return fmt.Sprintf("close session %d", c.ID)
		}
		return fmt.Sprintf("write session %d: %d bytes", c.ID, payloadLen(c.Data, c.Size))
	case SessionDeliver:
		if c.EOF {
			return fmt.Sprintf("deliver session %d: closed by the peer", c.ID)
		}
		return fmt.Sprintf("deliver session %d: %d bytes", c.ID, payloadLen(c.Data, c.Size))
	case EndSession:
		if c.ID == 0 {
			return fmt.Sprintf("refuse session stream %d of %s", c.Stream, c.Peer)
		}
		if c.Outcome == state.SessionRunning {
			return fmt.Sprintf("end session %d", c.ID)
		}
		return fmt.Sprintf("stop session %d: %s", c.ID, c.Outcome)
	}
	return fmt.Sprintf("%T", c)
}
