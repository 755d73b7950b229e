package service

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/bits"
	"strconv"
	"strings"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// A Command is one thing the state machine asks of the world: dial, close,
// send, publish, deliver to the application, save the peer store. Effects
// produce commands as plain data (etcd raft's Ready is the model); the store
// collects them, the action log records a digest of each, a replay
// recomputes and compares them, and only then does a thin shell — the
// node's service, or the simulator — carry them out.
type Command interface {
	// CommandKind is the command's stable number.
	CommandKind() CommandKind
}

// CommandKind is the stable number of a command type, written to logs:
// never renumber one, only append.
type CommandKind uint8

// The command kinds.
const (
	CmdDial          CommandKind = 1
	CmdClose         CommandKind = 2
	CmdSend          CommandKind = 3
	CmdPublish       CommandKind = 4
	CmdDeliver       CommandKind = 5
	CmdSavePeerStore CommandKind = 6
	CmdAcceptStream  CommandKind = 7
	CmdResetStream   CommandKind = 8
	CmdVerdict       CommandKind = 9
	CmdValidate      CommandKind = 10
	CmdThrottle      CommandKind = 11
	CmdUnthrottle    CommandKind = 12
	CmdDeliverHeld   CommandKind = 13
	// 14–17: request.go; 20–23: session.go; 24–27: dht.go.
	numCommandKinds CommandKind = 30
)

var commandNames = [numCommandKinds]string{"", "Dial", "Close", "Send", "Publish", "Deliver", "SavePeerStore",
	"AcceptStream", "ResetStream", "Verdict", "Validate", "Throttle", "Unthrottle", "DeliverHeld",
	"Request", "Respond", "Serve", "Complete", "", "",
	"OpenSession", "SessionWrite", "SessionDeliver", "EndSession",
	"Provide", "FindProviders", "FoundPeers", "HTTPGrant"}

// String names the kind.
func (k CommandKind) String() string {
	if k < numCommandKinds && commandNames[k] != "" {
		return commandNames[k]
	}
	return "command(" + strconv.Itoa(int(k)) + ")"
}

// Known reports whether k is a command kind of this build.
func (k CommandKind) Known() bool { return k > 0 && k < numCommandKinds && commandNames[k] != "" }

// Dial connects to a peer. Outcome: Connected or ConnectionFailed (or, if
// Close comes first, only Disconnected).
type Dial struct {
	Peer  state.PeerID
	Addrs []state.Addr
}

// Close closes every connection to a peer, after writing what was sent to
// it before. Outcome: exactly one Disconnected, even if there was no
// connection.
type Close struct {
	Peer state.PeerID
}

// Send writes one message to a peer on a channel. Outcome: Sent or
// SendFailed on data channels; on the control channel only a failure is
// reported (SendFailed). Send never opens a connection.
type Send struct {
	Peer    state.PeerID
	Channel state.Channel
	// Wire is the channel's number at the peer, written in the frame.
	Wire state.Channel
	Data []byte
	// Size and Sum stand for an application payload recorded by digest,
	// in a replay.
	Size uint64
	Sum  [32]byte
}

// Publish broadcasts a message on a broadcast channel. Outcome: Published
// or PublishFailed.
type Publish struct {
	Channel state.Channel
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Deliver hands a received message to the application. In a replay of a
// log that recorded the payload by digest, Data is nil and Size and Sum
// stand for it.
//
// It is the one command that travels by pointer (*Deliver is the
// Command), because it is the one every received message produces: the
// store fills it in memory it reuses for the next input, so that
// delivering allocates nothing. A *Deliver an observer is given is
// therefore valid during the call only; Keep copies commands to hold on
// to.
type Deliver struct {
	Peer    state.PeerID
	Channel state.Channel
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// Verdict answers GossipSub about a broadcast the service reported with
// GossipReceived: accept (deliver and relay it), ignore, or reject.
type Verdict struct {
	Msg     uint64
	Verdict state.Verdict
}

// Validate hands a broadcast to the application's validator of its
// channel; the verdict comes back as GossipValidated.
type Validate struct {
	Msg     uint64
	Peer    state.PeerID
	Channel state.Channel
	Data    []byte
	Size    uint64
	Sum     [32]byte
}

// DeliverHeld hands the application a broadcast its validator accepted:
// the one Validate gave it as message Msg (the service holds it).
type DeliverHeld struct {
	Msg uint64
}

// Throttle stops taking traffic from a peer: its direct frames are not
// read (the transport's flow control holds it back) and its broadcasts are
// dropped unread and counted, until Unthrottle.
type Throttle struct {
	Peer state.PeerID
}

// Unthrottle takes a throttled peer's traffic again.
type Unthrottle struct {
	Peer state.PeerID
}

// SavePeerStore persists the address book and bans.
type SavePeerStore struct {
	Store state.PeerStore
}

// AcceptStream lets an inbound stream the service reported with
// StreamOpened be read.
type AcceptStream struct {
	Peer   state.PeerID
	Stream uint64
}

// ResetStream refuses (or ends) an inbound stream.
type ResetStream struct {
	Peer   state.PeerID
	Stream uint64
}

// CommandKind is CmdDial.
func (Dial) CommandKind() CommandKind { return CmdDial }

// CommandKind is CmdClose.
func (Close) CommandKind() CommandKind { return CmdClose }

// CommandKind is CmdSend.
func (Send) CommandKind() CommandKind { return CmdSend }

// CommandKind is CmdPublish.
func (Publish) CommandKind() CommandKind { return CmdPublish }

// CommandKind is CmdDeliver.
func (*Deliver) CommandKind() CommandKind { return CmdDeliver }

// CommandKind is CmdSavePeerStore.
func (SavePeerStore) CommandKind() CommandKind { return CmdSavePeerStore }

// CommandKind is CmdAcceptStream.
func (AcceptStream) CommandKind() CommandKind { return CmdAcceptStream }

// CommandKind is CmdResetStream.
func (ResetStream) CommandKind() CommandKind { return CmdResetStream }

// CommandKind is CmdVerdict.
func (Verdict) CommandKind() CommandKind { return CmdVerdict }

// CommandKind is CmdValidate.
func (Validate) CommandKind() CommandKind { return CmdValidate }

// CommandKind is CmdDeliverHeld.
func (DeliverHeld) CommandKind() CommandKind { return CmdDeliverHeld }

// CommandKind is CmdThrottle.
func (Throttle) CommandKind() CommandKind { return CmdThrottle }

// CommandKind is CmdUnthrottle.
func (Unthrottle) CommandKind() CommandKind { return CmdUnthrottle }

// Keep returns a copy of cmds that stays valid after the observer call
// that was given them: a *Deliver in it points to a copy of its own.
func Keep(cmds []Command) []Command {
	kept := append([]Command(nil), cmds...)
	for i, c := range kept {
		if d, ok := c.(*Deliver); ok {
			own := *d
			kept[i] = &own
		}
	}
	return kept
}

// Execute carries out one command on a service.
func Execute(svc Service, c Command) {
	switch c := c.(type) {
	case Dial:
		svc.Dial(c.Peer, c.Addrs)
	case Close:
		svc.Close(c.Peer)
	case Send:
		svc.Send(c.Peer, c.Channel, c.Wire, c.Data)
	case Publish:
		svc.Publish(c.Channel, c.Data)
	case *Deliver:
		svc.Deliver(c.Peer, c.Channel, c.Data)
	case SavePeerStore:
		svc.SavePeerStore(c.Store)
	case AcceptStream:
		svc.AcceptStream(c.Peer, c.Stream)
	case ResetStream:
		svc.ResetStream(c.Peer, c.Stream)
	case Verdict:
		svc.Verdict(c.Msg, c.Verdict)
	case Validate:
		svc.Validate(c)
	case DeliverHeld:
		svc.DeliverHeld(c.Msg)
	case Throttle:
		svc.Throttle(c.Peer, true)
	case Unthrottle:
		svc.Throttle(c.Peer, false)
	case Request:
		svc.Request(c)
	case Respond:
		svc.Respond(c)
	case Serve:
		svc.Serve(c)
	case Complete:
		svc.Complete(c)
	case OpenSession, SessionWrite, SessionDeliver, EndSession:
		executeSession(svc, c)
	case Provide, FindProviders, FoundPeers, HTTPGrant:
		executeDHT(svc, c)
	}
}

// Digest is what the action log keeps of a command: its kind, its channel,
// its size (payload bytes, addresses dialled, address-book entries, or the
// stream number) and a 64-bit checksum over all of its fields — target and
// payload included (see Digester) — so that any change in what a command
// does changes its digest.
type Digest struct {
	Kind    CommandKind
	Channel state.Channel
	Size    uint64
	Sum     [8]byte
}

// String is the digest in one line, as a divergence report shows it.
func (d Digest) String() string {
	var b strings.Builder
	b.WriteString(d.Kind.String())
	switch d.Kind {
	case CmdSend, CmdPublish, CmdDeliver, CmdRequest, CmdRespond, CmdServe, CmdComplete:
		fmt.Fprintf(&b, " channel=%s %d bytes", d.Channel, d.Size)
	case CmdSessionWrite, CmdSessionDeliver:
		fmt.Fprintf(&b, " %d bytes", d.Size)
	case CmdOpenSession, CmdEndSession:
		fmt.Fprintf(&b, " session %d", d.Size)
	case CmdDial:
		fmt.Fprintf(&b, " %d addresses", d.Size)
	case CmdSavePeerStore:
		fmt.Fprintf(&b, " %d entries", d.Size)
	case CmdAcceptStream, CmdResetStream:
		fmt.Fprintf(&b, " stream %d", d.Size)
	case CmdVerdict:
		fmt.Fprintf(&b, " %s", state.Verdict(d.Size))
	case CmdValidate:
		fmt.Fprintf(&b, " channel=%s %d bytes", d.Channel, d.Size)
	case CmdDeliverHeld:
		fmt.Fprintf(&b, " message %d", d.Size)
	}
	b.WriteString(" digest ")
	b.WriteString(hex.EncodeToString(d.Sum[:]))
	return b.String()
}

// Digester computes command digests: a 64-bit hash (sum64) over the
// command's fields, payload included. The log compares a replay with the
// run it replays, so the digest must change with any change in a command,
// not resist an adversary. An application payload longer than Limit
// enters it by its SHA-256, since a log records such a payload by its
// SHA-256 only (Limit is the log's Config.RecordPayloadLimit); a shorter
// one by its bytes. Logs of format 2 and 3 digest differently (Legacy,
// Separate).
type Digester struct {
	Limit int
	// Legacy computes the digests of format-2 logs: a CRC-32C and a
	// 32-bit word-at-a-time hash (mix32) side by side. Its one multiply
	// chain made it a fifth of a replay's time; sum64 runs four.
	Legacy bool
	// Separate computes the digests of format-4 logs: the payload's
	// hash (PayloadHash) apart from the fields' and then the two
	// combined, so that a replay can hash a payload where it reads it,
	// on its reading goroutine, and the goroutine that applies the
	// action never touches the payload's bytes (KnowHash). Without it,
	// the format-3 digest: one hash over the fields and then the payload.
	Separate bool
	buf      []byte
	// hashed is a payload whose PayloadHash the caller already has
	// (KnowHash).
	hashed struct {
		p *byte
		n int
		h uint64
	}
	// known is a payload whose sum the caller already has (Remember):
	// the log records a large payload by digest and then digests the
	// command that delivers it, and should hash it once.
	known struct {
		p   *byte
		n   int
		sum [32]byte
	}
}

// Remember tells the digester the sum of a payload it is about to meet in
// a command, until Forget. The caller keeps data alive meanwhile (so no
// other payload can sit at its address).
func (g *Digester) Remember(data []byte, sum [32]byte) {
	if len(data) > 0 {
		g.known.p, g.known.n, g.known.sum = &data[0], len(data), sum
	}
}

// Forget drops what Remember and KnowHash said.
func (g *Digester) Forget() { g.known.p, g.known.n, g.hashed.p, g.hashed.n = nil, 0, nil, 0 }

// KnowHash tells the digester the PayloadHash of a payload it is about to
// meet in a command, until Forget: a command that carries these very bytes
// (the same slice of memory, which holds the bytes hashed) then reuses it.
// The digester holds data meanwhile, so no other payload can come to sit
// at its address; the caller must not change the bytes.
func (g *Digester) KnowHash(data []byte, h uint64) {
	if len(data) > 0 {
		g.hashed.p, g.hashed.n, g.hashed.h = &data[0], len(data), h
	}
}

// PayloadHash is a payload's hash as format-4 digests take it in
// (Digester.Separate).
func PayloadHash(p []byte) uint64 { return finish64(sum64(uint64(len(p))*mixMul, p)) }

// PayloadSum is the SHA-256 of an application payload.
func (g *Digester) PayloadSum(data []byte) [32]byte {
	if len(data) > 0 && &data[0] == g.known.p && len(data) == g.known.n {
		return g.known.sum
	}
	return sha256.Sum256(data)
}

// payload is the size of a payload held in full or by digest, and what of
// it enters a digest: its bytes, or its SHA-256 above Limit.
func (g *Digester) payload(data []byte, size uint64, sum [32]byte) (uint64, []byte) {
	if data == nil && size > 0 {
		return size, append([]byte(nil), sum[:]...)
	}
	if len(data) > g.Limit {
		s := g.PayloadSum(data)
		return uint64(len(data)), s[:]
	}
	return uint64(len(data)), data
}

// Digest computes c's digest.
func (g *Digester) Digest(c Command) Digest {
	var d Digest
	g.DigestTo(&d, c)
	return d
}

// DigestTo computes c's digest into *d: what a replay does for every
// command. Filled in place, field by field, because a digest assembled
// from narrow stores and then copied whole makes the processor wait for
// the stores before the wide loads of the copy can read them.
func (g *Digester) DigestTo(d *Digest, c Command) {
	head, payload := g.SplitTo(d, c)
	g.Sum(d, head, payload)
}

// Split is the first half of Digest: c's digest with its Sum still to
// compute, and the two byte strings the sum covers, its fields and its
// payload. head is valid until the next Split; payload is c's own bytes,
// or the SHA-256 of a payload above Limit. A caller may copy both and
// leave the hashing (Sum) to another goroutine.
func (g *Digester) Split(c Command) (d Digest, head, payload []byte) {
	head, payload = g.SplitTo(&d, c)
	return d, head, payload
}

// SplitTo is Split into *d, in place (see DigestTo).
func (g *Digester) SplitTo(d *Digest, c Command) (head, payload []byte) {
	b := append(g.buf[:0], byte(c.CommandKind()))
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	d.Kind, d.Channel, d.Size, d.Sum = c.CommandKind(), 0, 0, [8]byte{}
	switch c := c.(type) {
	case Dial:
		str(string(c.Peer))
		b = binary.AppendUvarint(b, uint64(len(c.Addrs)))
		for _, a := range c.Addrs {
			str(string(a))
		}
		d.Size = uint64(len(c.Addrs))
	case Close:
		str(string(c.Peer))
	case Send:
		str(string(c.Peer))
		b = append(b, byte(c.Channel), byte(c.Wire))
		if c.Channel == state.ChannelControl {
			// Control messages are the protocol's own: in full, always.
			b = binary.AppendUvarint(b, uint64(len(c.Data)))
			d.Channel, d.Size, payload = c.Channel, uint64(len(c.Data)), c.Data
			break
		}
		size, p := g.payload(c.Data, c.Size, c.Sum)
		b = binary.AppendUvarint(b, size)
		d.Channel, d.Size, payload = c.Channel, size, p
	case Publish:
		size, p := g.payload(c.Data, c.Size, c.Sum)
		b = append(b, byte(c.Channel))
		b = binary.AppendUvarint(b, size)
		d.Channel, d.Size, payload = c.Channel, size, p
	case *Deliver:
		// By the payload's digest, so that a replay of a log that kept
		// only the digest computes the same.
		size, p := g.payload(c.Data, c.Size, c.Sum)
		str(string(c.Peer))
		b = append(b, byte(c.Channel))
		b = binary.AppendUvarint(b, size)
		d.Channel, d.Size, payload = c.Channel, size, p
	case Validate:
		size, p := g.payload(c.Data, c.Size, c.Sum)
		b = binary.AppendUvarint(b, c.Msg)
		str(string(c.Peer))
		b = append(b, byte(c.Channel))
		b = binary.AppendUvarint(b, size)
		d.Channel, d.Size, payload = c.Channel, size, p
	case Verdict:
		b = binary.AppendUvarint(b, c.Msg)
		b = append(b, byte(c.Verdict))
		d.Size = uint64(c.Verdict)
	case DeliverHeld:
		b = binary.AppendUvarint(b, c.Msg)
		d.Size = c.Msg
	case Throttle:
		str(string(c.Peer))
	case Unthrottle:
		str(string(c.Peer))
	case SavePeerStore:
		// The snapshot's canonical encoding is the state's own.
		b = append(b, c.Store.Canonical()...)
		d.Size = uint64(len(c.Store.Entries))
	case AcceptStream:
		str(string(c.Peer))
		b = binary.AppendUvarint(b, c.Stream)
		d.Size = c.Stream
	case ResetStream:
		str(string(c.Peer))
		b = binary.AppendUvarint(b, c.Stream)
		d.Size = c.Stream
	case Request, Respond, Serve, Complete:
		b, payload = g.digestRequest(c, b, d)
	case OpenSession, SessionWrite, SessionDeliver, EndSession:
		b, payload = g.digestSession(c, b, d)
	case Provide, FindProviders, FoundPeers, HTTPGrant:
		b = digestDHT(c, b, d)
	}
	g.buf = b
	return b, payload
}

// Sum is the second half of Digest: it fills in d.Sum from what Split
// returned. It reads nothing of g but its settings and what KnowHash
// said, so a copy of g may run it on another goroutine.
func (g *Digester) Sum(d *Digest, head, payload []byte) {
	if g.Separate {
		var ph uint64
		if len(payload) > 0 && &payload[0] == g.hashed.p && len(payload) == g.hashed.n {
			ph = g.hashed.h
		} else {
			ph = PayloadHash(payload)
		}
		binary.BigEndian.PutUint64(d.Sum[:], finish64(sum64(uint64(len(head)), head)^bits.RotateLeft64(ph, 31)))
		return
	}
	if !g.Legacy {
		binary.BigEndian.PutUint64(d.Sum[:], finish64(sum64(sum64(uint64(len(head)), head)^uint64(len(payload))*mixMul, payload)))
		return
	}
	// MakeTable hands out the package's one CRC-32C table after the first
	// call, so asking each time costs nothing.
	tab := crc32.MakeTable(crc32.Castagnoli)
	c32 := crc32.Update(crc32.Update(0, tab, head), tab, payload)
	binary.BigEndian.PutUint32(d.Sum[:4], c32)
	binary.BigEndian.PutUint32(d.Sum[4:], mix32(mix64(uint64(len(head)), head), payload))
}

// Odd constants for sum64's four lanes: the golden-ratio one and three
// more with bits spread evenly (from the xxHash and murmur families of
// constants; any odd number with mixed bits serves).
const (
	lane1 = 0xc2b2ae3d27d4eb4f
	lane2 = 0x165667b19e3779f9
	lane3 = 0xff51afd7ed558ccd
)

// sum64 folds b into h: 32 bytes at a time into four independent lanes
// (each xor, multiply, fold the high half down), so that the processor
// runs four multiply chains at once; then the lanes into one, what is left
// a word at a time, and the last few bytes as one word. The caller mixes
// the length in (the last word is padded with zeros).
func sum64(h uint64, b []byte) uint64 {
	if len(b) >= 32 {
		h0, h1, h2, h3 := h, h^lane1, h^lane2, h^lane3
		for ; len(b) >= 32; b = b[32:] {
			h0 = (h0 ^ binary.LittleEndian.Uint64(b)) * mixMul
			h1 = (h1 ^ binary.LittleEndian.Uint64(b[8:])) * lane1
			h2 = (h2 ^ binary.LittleEndian.Uint64(b[16:])) * lane2
			h3 = (h3 ^ binary.LittleEndian.Uint64(b[24:])) * lane3
			h0 ^= h0 >> 32
			h1 ^= h1 >> 29
			h2 ^= h2 >> 31
			h3 ^= h3 >> 27
		}
		a := (h0 ^ bits.RotateLeft64(h1, 17)) * mixMul
		c := (h2 ^ bits.RotateLeft64(h3, 31)) * lane1
		h = (a ^ bits.RotateLeft64(c, 47)) * lane2
		h ^= h >> 32
	}
	for ; len(b) >= 8; b = b[8:] {
		h = (h ^ binary.LittleEndian.Uint64(b)) * mixMul
		h ^= h >> 32
	}
	if len(b) > 0 {
		var w uint64
		for i, c := range b {
			w |= uint64(c) << (8 * i)
		}
		h = (h ^ w) * lane3
		h ^= h >> 32
	}
	return h
}

// finish64 spreads every bit of h over the whole word (an xor-shift and
// multiply finaliser, as hash tables use).
func finish64(h uint64) uint64 {
	h ^= h >> 33
	h *= lane3
	h ^= h >> 29
	h *= lane1
	h ^= h >> 32
	return h
}

// mixMul is the odd constant of mix64 (2^64 divided by the golden ratio).
const mixMul = 0x9e3779b97f4a7c15

// mix64 folds b into h eight bytes at a time: xor, multiply, and fold the
// high half down, so that every byte moves the whole word. A word at a
// time, it costs a fraction of a table-driven CRC.
func mix64(h uint64, b []byte) uint64 {
	for ; len(b) >= 8; b = b[8:] {
		h = (h ^ binary.LittleEndian.Uint64(b)) * mixMul
		h ^= h >> 32
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * mixMul
		h ^= h >> 32
	}
	return h
}

// mix32 finishes mix64 over the payload, with its length, to 32 bits.
func mix32(h uint64, payload []byte) uint32 {
	h = mix64(h^uint64(len(payload))*mixMul, payload)
	h ^= h >> 29
	h *= mixMul
	return uint32(h >> 32)
}

// FormatCommand is the text form of a command, as traces and divergence
// reports print it, channels by number; control messages are shown
// decoded.
func FormatCommand(c Command) string { return FormatCommandNamed(c, action.Names{}) }

// FormatCommandNamed is FormatCommand with channels named by n.
func FormatCommandNamed(c Command, n action.Names) string {
	switch c := c.(type) {
	case Dial:
		return fmt.Sprintf("dial %s %v", c.Peer, c.Addrs)
	case Close:
		return fmt.Sprintf("close %s", c.Peer)
	case Send:
		if c.Channel == state.ChannelControl {
			if m, err := message.Decode(c.Data); err == nil {
				return fmt.Sprintf("send %s %s", c.Peer, action.FormatMessage(m))
			}
		}
		return fmt.Sprintf("send %s %s %d bytes", c.Peer, n.Channel(c.Channel), payloadLen(c.Data, c.Size))
	case Publish:
		return fmt.Sprintf("publish %s %d bytes", n.Channel(c.Channel), payloadLen(c.Data, c.Size))
	case *Deliver:
		return fmt.Sprintf("deliver from %s on %s: %d bytes", c.Peer, n.Channel(c.Channel), payloadLen(c.Data, c.Size))
	case Verdict:
		return fmt.Sprintf("verdict %s on message %d", c.Verdict, c.Msg)
	case Validate:
		return fmt.Sprintf("validate message %d from %s on %s: %d bytes", c.Msg, c.Peer, n.Channel(c.Channel), payloadLen(c.Data, c.Size))
	case DeliverHeld:
		return fmt.Sprintf("deliver validated message %d", c.Msg)
	case Throttle:
		return fmt.Sprintf("throttle %s", c.Peer)
	case Unthrottle:
		return fmt.Sprintf("unthrottle %s", c.Peer)
	case SavePeerStore:
		return fmt.Sprintf("save peer store: %d entries, %d bans", len(c.Store.Entries), len(c.Store.Bans))
	case AcceptStream:
		return fmt.Sprintf("accept stream %d of %s", c.Stream, c.Peer)
	case ResetStream:
		return fmt.Sprintf("reset stream %d of %s", c.Stream, c.Peer)
	case Request, Respond, Serve, Complete:
		return formatRequest(c, n)
	case OpenSession, SessionWrite, SessionDeliver, EndSession:
		return formatSession(c)
	case Provide, FindProviders, FoundPeers, HTTPGrant:
		return formatDHT(c)
	}
	return fmt.Sprintf("%T", c)
}

func payloadLen(data []byte, size uint64) uint64 {
	if data == nil && size > 0 {
		return size
	}
	return uint64(len(data))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
