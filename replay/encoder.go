package replay

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// logEncoder frames records into a buffer and writes it out when full: the
// half of a Writer that turns what the node handed over into log bytes.
// Only one goroutine uses it at a time: the Writer's background while a
// batch is in flight, the node's goroutine otherwise (see Writer).
type logEncoder struct {
	w   io.Writer
	out []byte // framed records, sealed and written when full
	enc codec.Encoder
	// inPlace encodes records straight into out (open, close); enc is
	// a scratch buffer for the rest, and the two must not share memory.
	inPlace codec.Encoder
	digest  service.Digester
	// cmdDigest is the digest of the command being framed, filled in
	// place (see service.Digester.DigestTo).
	cmdDigest service.Digest
	// payloadLimit is the largest payload recorded in full; -1: all.
	payloadLimit int
	// inline puts an input's commands in the input's own record (format
	// 4), when they follow it in the same batch.
	inline bool
	prevID uint64
	prevT  int64
	// sumPayload is e.payloadSum as a func value, made once: a closure
	// made per action would put its captures on the heap every time.
	sumPayload func([]byte) [32]byte
	held       []byte
	heldSum    [32]byte

	// spare is the other buffer; writing, the write of it running in the
	// background, if any.
	spare   []byte
	writing chan error

	records uint64
	bytes   uint64
	err     error
}

// writeBuffer is the size of an encoder's buffer: a write every few
// hundred actions, and a few hundred kilobytes at most per node with the
// batches, which counts in a simulation that records a thousand.
const writeBuffer = 128 << 10

// record frames one record into the buffer.
func (e *logEncoder) record(typ byte, payload []byte) {
	if e.err != nil {
		return
	}
	start := len(e.out)
	e.out = append(e.out, 0, 0, 0, 0)
	e.out = binary.AppendUvarint(e.out, uint64(len(payload)+1))
	e.out = append(e.out, typ)
	e.out = append(e.out, payload...)
	e.commit(start)
}

// open starts a record of type typ framed in place: the caller appends
// its payload to e.out and calls close with the same guess, the number of
// bytes the payload's length is expected to take. The payload is encoded
// straight into the buffer, not into a scratch one and then copied.
func (e *logEncoder) open(typ byte, guess int) int {
	start := len(e.out)
	e.out = append(e.out, 0, 0, 0, 0, 0, 0, 0, 0)[:start+4+guess]
	e.out = append(e.out, typ)
	return start
}

// close finishes framing a record opened at start: it writes the
// payload's length, moving the payload if the length takes more or fewer
// bytes than guessed.
func (e *logEncoder) close(start, guess int) {
	body := start + 4 + guess // the type byte, then the payload
	var n [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(n[:], uint64(len(e.out)-body))
	if k != guess {
		end := len(e.out)
		if k > guess {
			e.out = append(e.out, n[:k-guess]...)
		}
		copy(e.out[start+4+k:], e.out[body:end])
		e.out = e.out[:end+k-guess]
	}
	copy(e.out[start+4:], n[:k])
}

// commit counts the record framed from start, and writes the buffer out
// once it is full.
func (e *logEncoder) commit(start int) {
	e.records++
	e.bytes += uint64(len(e.out) - start)
	if len(e.out) >= writeBuffer {
		e.writeBehind()
	}
}

// seal fills in the checksum of every record framed in b.
func seal(b []byte) {
	for len(b) > 0 {
		n, k := binary.Uvarint(b[4:])
		end := 4 + k + int(n)
		binary.LittleEndian.PutUint32(b, crc32.Checksum(b[4:end], castagnoli))
		b = b[end:]
	}
}

// writeBehind hands the full buffer to a goroutine that seals and writes
// it, once the previous one is written, and frames on into the other: the
// checksums and the write take about a third of the time of encoding.
func (e *logEncoder) writeBehind() {
	if e.waitWrite() != nil {
		return
	}
	full := e.out
	e.out = e.spare[:0]
	if e.out == nil {
		e.out = make([]byte, 0, writeBuffer)
	}
	e.spare = full
	e.writing = make(chan error, 1)
	go func(done chan<- error) {
		seal(full)
		_, err := e.w.Write(full)
		done <- err
	}(e.writing)
}

// waitWrite waits for the write running in the background, if any, and
// returns the sticky error.
func (e *logEncoder) waitWrite() error {
	if e.writing != nil {
		if err := <-e.writing; err != nil && e.err == nil {
			e.err = fmt.Errorf("action log: %w", err)
		}
		e.writing = nil
	}
	return e.err
}

// flush seals and writes what the buffer holds, after the write running
// in the background, and returns once both are written.
func (e *logEncoder) flush() {
	if e.waitWrite() != nil || len(e.out) == 0 {
		return
	}
	seal(e.out)
	_, err := e.w.Write(e.out)
	e.out = e.out[:0]
	if err != nil {
		e.err = fmt.Errorf("action log: %w", err)
	}
}

// input frames an input action in full, but for an application payload
// over payloadLimit, which it records as length and SHA-256; and after it,
// in the same record, the digests of its commands, if given (see
// appendCommands).
func (e *logEncoder) input(m action.Meta, a action.Action, cmds []service.Command, digests []service.Digest) {
	e.digest.Forget()
	if d, ok := a.(action.Digester); ok && e.payloadLimit >= 0 {
		if e.sumPayload == nil {
			e.sumPayload = e.payloadSum
		}
		if digested, ok := d.Digested(e.payloadLimit, e.sumPayload); ok {
			a = digested
			e.digest.Remember(e.held, e.heldSum)
		}
		e.held = nil
	}
	if e.err != nil {
		return
	}
	// An input's payload is usually 128 bytes to 16 KiB long: a length
	// of two bytes.
	start := e.open(RecordInput, 2)
	c := &e.inPlace
	c.AppendTo(e.out)
	c.Uint(uint64(a.Kind()))
	c.Uint(m.ID - e.prevID)
	c.Uint(uint64(m.Time - e.prevT))
	a.EncodeCBOR(c)
	e.out = c.Encoded()
	if err := c.Over(); err != nil {
		e.refuse(start, fmt.Errorf("action log: input #%d (%s) cannot be recorded: %w", m.ID, a.Kind(), err))
		return
	}
	e.prevID, e.prevT = m.ID, m.Time
	e.closeInput(start, cmds, digests)
}

// closeInput finishes an input record opened at start, its commands
// appended if it has some and they fit: a record must stay within
// MaxRecord for the reader to take it, so commands that would push a
// very large input past it take a record of their own.
func (e *logEncoder) closeInput(start int, cmds []service.Command, digests []service.Digest) {
	inline := len(cmds) > 0 && len(e.out)-start+maxDigestLen*len(cmds)+16 <= MaxRecord
	if inline {
		e.appendCommands(cmds, digests)
	}
	e.close(start, 2)
	e.commit(start)
	if len(cmds) > 0 && !inline {
		e.commands(cmds, digests)
	}
}

// maxDigestLen bounds a digest's encoding in a commands list: an array
// head, kind, channel, a size of up to nine bytes, and the 8-byte sum
// with its head.
const maxDigestLen = 1 + 2 + 2 + 9 + 9

// inputEncoded frames an input action the node encoded itself (body),
// with its commands as input does.
func (e *logEncoder) inputEncoded(m action.Meta, k action.Kind, body []byte, cmds []service.Command, digests []service.Digest) {
	e.digest.Forget()
	if e.err != nil {
		return
	}
	start := e.open(RecordInput, 2)
	c := &e.inPlace
	c.AppendTo(e.out)
	c.Uint(uint64(k))
	c.Uint(m.ID - e.prevID)
	c.Uint(uint64(m.Time - e.prevT))
	e.out = append(c.Encoded(), body...)
	e.prevID, e.prevT = m.ID, m.Time
	e.closeInput(start, cmds, digests)
}

// refuse drops the record framed from start and stops the log with err,
// what was recorded before it written out: the reader would refuse the
// record and everything after it.
func (e *logEncoder) refuse(start int, err error) {
	e.out = e.out[:start]
	e.flush()
	if e.err == nil {
		e.err = err
	}
}

// payloadSum is the SHA-256 of a payload recorded by digest, kept for the
// digests of the commands that carry it.
func (e *logEncoder) payloadSum(b []byte) [32]byte {
	e.held, e.heldSum = b, e.digest.PayloadSum(b)
	return e.heldSum
}

// derived frames a derived action as its kind and ID.
func (e *logEncoder) derived(m action.Meta, k action.Kind, dropped bool) {
	e.enc.Reset()
	kd := uint64(k) << 1
	if dropped {
		kd |= 1
	}
	e.enc.Uint(kd)
	e.enc.Uint(m.ID - e.prevID)
	e.enc.Uint(m.ID - m.Parent)
	e.prevID = m.ID
	e.record(RecordDerived, e.enc.Encoded())
}

// commands frames a commands record: a digest of each command, computed
// here, or for a nil command the next of digests, computed by the node.
func (e *logEncoder) commands(cmds []service.Command, digests []service.Digest) {
	if e.err != nil {
		return
	}
	// A digest takes 12 to 20 bytes: a few fit a length of one byte.
	start := e.open(RecordCommands, 1)
	e.appendCommands(cmds, digests)
	e.close(start, 1)
	e.commit(start)
}

// appendCommands appends the digests of a commands record to the record
// being framed: an array of a digest of each command, computed here, or
// for a nil command the next of digests, computed by the node.
func (e *logEncoder) appendCommands(cmds []service.Command, digests []service.Digest) {
	if len(cmds) < 24 {
		e.out = append(e.out, 0x80|byte(len(cmds))) // a short array's head
	} else {
		c := &e.inPlace
		c.AppendTo(e.out)
		c.Array(len(cmds))
		e.out = c.Encoded()
	}
	for _, cmd := range cmds {
		d := &e.cmdDigest
		if cmd != nil {
			e.digest.DigestTo(d, cmd)
		} else {
			d, digests = &digests[0], digests[1:]
		}
		e.out = appendDigest(e.out, d)
	}
}

// appendDigest appends encodeDigest's encoding of d to b: for the usual
// digest (kind, channel and size in one or two bytes) as one append of
// fixed bytes, since through the encoder, item by item, it took a tenth
// of the time of recording an action.
func appendDigest(b []byte, d *service.Digest) []byte {
	if d.Kind >= 24 || d.Channel >= 24 || d.Size > math.MaxUint16 {
		var e codec.Encoder
		e.AppendTo(b)
		encodeDigest(&e, d)
		return e.Encoded()
	}
	// [kind, channel, size, sum]: an array of 4, two small uints, a
	// uint of one to three bytes, a byte string of 8.
	b = append(b, 0x84, byte(d.Kind), byte(d.Channel))
	switch {
	case d.Size < 24:
		b = append(b, byte(d.Size))
	case d.Size <= math.MaxUint8:
		b = append(b, 0x18, byte(d.Size))
	default:
		b = append(b, 0x19, byte(d.Size>>8), byte(d.Size))
	}
	b = append(b, 0x48)
	return append(b, d.Sum[:]...)
}

// encodeDigest writes one digest of a commands record: [kind, channel,
// size, sum], the sum last.
func encodeDigest(e *codec.Encoder, d *service.Digest) {
	e.Array(4)
	e.Uint(uint64(d.Kind))
	e.Uint(uint64(d.Channel))
	e.Uint(d.Size)
	e.Bytes(d.Sum[:])
}

// hashRecord frames a checkpoint or end record: the last action's ID, the
// state hash and its section hashes.
func (e *logEncoder) hashRecord(typ byte, lastID uint64, h *state.Hash, sections []state.SectionHash) {
	e.enc.Reset()
	e.enc.Uint(lastID)
	e.enc.Bytes(h[:])
	e.enc.Array(len(sections))
	for _, s := range sections {
		e.enc.Bytes(s.Sum[:])
	}
	e.record(typ, e.enc.Encoded())
}
