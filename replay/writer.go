package replay

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/fxamacker/cbor/v2"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

var headerEncMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // fixed options; cannot fail
	}
	return em
}()

// Writer records a node's actions. It implements store.Observer. Writes are
// buffered; Flush pushes them to the file, End closes the log with its end
// record. A write error is sticky: Err reports it and later records are
// not written, so a log is never silently missing a record in its middle.
//
// Records are framed into a buffer of writeBuffer bytes. When it fills,
// a goroutine of its own computes the buffer's checksums and writes it
// while the node frames the next records into a second buffer: on two
// cores the node does not wait for the checksums or the file.
type Writer struct {
	w        io.Writer
	out      []byte     // framed records, checksums still to fill in
	spare    []byte     // the other buffer, when no write is running
	inflight chan error // the write running in the background, if any
	file     *os.File
	enc      codec.Encoder
	// inPlace encodes records straight into out (open, close); enc is
	// a scratch buffer for the rest, and the two must not share memory.
	inPlace codec.Encoder
	digest  service.Digester
	// cmdDigest is the digest of the command being framed, filled in
	// place (see service.Digester.DigestTo).
	cmdDigest service.Digest
	digests   []service.Digest
	// sums are the command digests framed into out whose sums are still
	// to compute; spareSums go with spare. The background computes them
	// before it seals the buffer, so the node does not hash payloads.
	sums, spareSums pendingSums
	// payloadLimit is the largest payload recorded in full; -1: all.
	payloadLimit int
	prevID       uint64
	prevT        int64
	// sumPayload is w.payloadSum as a func value, made once: a closure
	// made per action would put its captures on the heap every time.
	sumPayload func([]byte) [32]byte
	held       []byte
	heldSum    [32]byte

	records uint64
	bytes   uint64
	err     error
	ended   bool
}

// Create writes a new log file at path, replacing any file there.
func Create(path string, h Header) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("action log: %w", err)
	}
	w, err := NewWriter(f, h)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	return w, nil
}

// NewWriter writes a log to out, starting with the magic and the header.
func NewWriter(out io.Writer, h Header) (*Writer, error) {
	w := &Writer{w: out, out: make([]byte, 0, writeBuffer), prevT: h.StartTime, payloadLimit: h.Config.RecordPayloadLimit}
	w.digest.Limit = h.Config.RecordPayloadLimit
	w.digest.Legacy = h.Format < 3 // a copy of an older log keeps its digests
	w.enc.SetLimits(action.Limits())
	w.inPlace.SetLimits(action.Limits())
	payload, err := headerEncMode.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("action log header: %w", err)
	}
	if _, err := io.WriteString(out, Magic); err != nil {
		return nil, fmt.Errorf("action log: %w", err)
	}
	w.bytes += uint64(len(Magic))
	w.record(RecordHeader, payload)
	return w, w.err
}

// writeBuffer is the size of each of a writer's two buffers: a write
// every few hundred actions, and half a megabyte at most per node, which
// counts in a simulation that records a thousand.
const writeBuffer = 128 << 10

// record frames one record into the buffer, its checksum left for
// seal to fill in, and hands the buffer to the background once it is full.
func (w *Writer) record(typ byte, payload []byte) {
	if w.err != nil || w.ended {
		return
	}
	start := len(w.out)
	w.out = append(w.out, 0, 0, 0, 0)
	w.out = binary.AppendUvarint(w.out, uint64(len(payload)+1))
	w.out = append(w.out, typ)
	w.out = append(w.out, payload...)
	w.records++
	w.bytes += uint64(len(w.out) - start)
	if len(w.out) >= writeBuffer {
		w.writeBehind()
	}
}

// open starts a record of type typ framed in place: the caller appends
// its payload to w.out and calls close with the same guess, the number of
// bytes the payload's length is expected to take. The payload is encoded
// straight into the buffer, not into a scratch one and then copied.
func (w *Writer) open(typ byte, guess int) int {
	start := len(w.out)
	w.out = append(w.out, 0, 0, 0, 0, 0, 0, 0, 0)[:start+4+guess]
	w.out = append(w.out, typ)
	return start
}

// close finishes framing a record opened at start: it writes the
// payload's length, moving the payload if the length takes more or fewer
// bytes than guessed. It returns how far the type byte now is from start
// (4 + the length's size), and commit counts the record.
func (w *Writer) close(start, guess int) int {
	body := start + 4 + guess // the type byte, then the payload
	var n [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(n[:], uint64(len(w.out)-body))
	if k != guess {
		end := len(w.out)
		if k > guess {
			w.out = append(w.out, n[:k-guess]...)
		}
		copy(w.out[start+4+k:], w.out[body:end])
		w.out = w.out[:end+k-guess]
	}
	copy(w.out[start+4:], n[:k])
	return 4 + k
}

// commit counts the record framed from start, and hands the buffer to the
// background once it is full (or the copies for its pending sums are).
func (w *Writer) commit(start int) {
	w.records++
	w.bytes += uint64(len(w.out) - start)
	if len(w.out) >= writeBuffer || len(w.sums.arena) >= writeBuffer {
		w.writeBehind()
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
// it, after the previous one has finished, and frames on into the other.
func (w *Writer) writeBehind() {
	if w.wait() != nil {
		return
	}
	full, sums := w.out, w.sums
	w.out = w.spare[:0]
	if w.out == nil {
		w.out = make([]byte, 0, writeBuffer)
	}
	w.spare = full
	// The spare's jobs were computed by the write waited for above.
	w.sums = pendingSums{jobs: w.spareSums.jobs[:0], arena: w.spareSums.arena[:0]}
	w.spareSums = sums
	w.inflight = make(chan error, 1)
	go func(done chan<- error) {
		sums.fill(full)
		seal(full)
		_, err := w.w.Write(full)
		done <- err
	}(w.inflight)
}

// wait waits for the background write, if one runs, and returns the
// sticky error.
func (w *Writer) wait() error {
	if w.inflight != nil {
		if err := <-w.inflight; err != nil && w.err == nil {
			w.err = fmt.Errorf("action log: %w", err)
		}
		w.inflight = nil
	}
	return w.err
}

// KeepPayloads makes the writer record every payload in full, however
// large (p2pnode run --record-payloads full).
func (w *Writer) KeepPayloads() { w.payloadLimit = -1 }

// Input records an input action in full, but for an application payload
// over the header's Config.RecordPayloadLimit, which it records as length
// and SHA-256.
func (w *Writer) Input(m action.Meta, a action.Action) {
	w.digest.Forget()
	if d, ok := a.(action.Digester); ok && w.payloadLimit >= 0 {
		if w.sumPayload == nil {
			w.sumPayload = w.payloadSum
		}
		if digested, ok := d.Digested(w.payloadLimit, w.sumPayload); ok {
			a = digested
			w.digest.Remember(w.held, w.heldSum)
		}
		w.held = nil
	}
	if w.err != nil || w.ended {
		return
	}
	// An input's payload is usually 128 bytes to 16 KiB long: a length
	// of two bytes.
	start := w.open(RecordInput, 2)
	e := &w.inPlace
	e.AppendTo(w.out)
	e.Uint(uint64(a.Kind()))
	e.Uint(m.ID - w.prevID)
	e.Uint(uint64(m.Time - w.prevT))
	a.EncodeCBOR(e)
	w.out = e.Encoded()
	if err := e.Over(); err != nil {
		// The reader would refuse this record and everything after it.
		// Stop here, loudly, with what was recorded so far on disk.
		w.out = w.out[:start]
		w.Flush()
		w.err = fmt.Errorf("action log: input #%d (%s) cannot be recorded: %w", m.ID, a.Kind(), err)
		return
	}
	w.prevID, w.prevT = m.ID, m.Time
	w.close(start, 2)
	w.commit(start)
}

// payloadSum is the SHA-256 of a payload recorded by digest, kept for the
// digests of the commands that carry it.
func (w *Writer) payloadSum(b []byte) [32]byte {
	w.held, w.heldSum = b, w.digest.PayloadSum(b)
	return w.heldSum
}

// Derived records a derived action as its kind and ID.
func (w *Writer) Derived(m action.Meta, a action.Action, dropped bool) {
	w.enc.Reset()
	k := uint64(a.Kind()) << 1
	if dropped {
		k |= 1
	}
	w.enc.Uint(k)
	w.enc.Uint(m.ID - w.prevID)
	w.enc.Uint(m.ID - m.Parent)
	w.prevID = m.ID
	w.record(RecordDerived, w.enc.Encoded())
}

// Commands records a digest of each command an action produced, right
// after the action's own record.
//
// The sums are left to the goroutine that writes the buffer: the record is
// framed here with room for each sum, and what each sum covers is copied
// aside (a payload may be the application's, free to change once the
// action is applied). A copy of a format-2 log digests here, the old way.
func (w *Writer) Commands(_ action.Meta, _ action.Action, cmds []service.Command) {
	if w.digest.Legacy {
		ds := w.digests[:0]
		for _, c := range cmds {
			ds = append(ds, w.digest.Digest(c))
		}
		w.digests = ds
		w.CommandDigests(ds)
		return
	}
	if w.err != nil || w.ended {
		return
	}
	start := w.open(RecordCommands, 1)
	e := &w.inPlace
	e.AppendTo(w.out)
	e.Array(len(cmds))
	w.out = e.Encoded()
	first := len(w.sums.jobs)
	d := &w.cmdDigest
	for _, c := range cmds {
		head, payload := w.digest.SplitTo(d, c)
		w.out = appendDigest(w.out, d) // its sum zeros, for now
		w.sums.add(len(w.out)-len(d.Sum), head, payload)
	}
	// The payload started after the checksum, a one-byte length and the
	// type byte; close may have moved it.
	if moved := w.close(start, 1); moved != 4+1 {
		for i := first; i < len(w.sums.jobs); i++ {
			w.sums.jobs[i].at += moved - (4 + 1)
		}
	}
	w.commit(start)
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

// pendingSums are command digests framed into a buffer whose sums are
// still to compute, and a copy of what each sum covers.
type pendingSums struct {
	jobs  []sumJob
	arena []byte // each job's head, then its payload, job after job
}

// sumJob is one pending sum: where in the buffer it goes, and the lengths
// of the head and payload it covers.
type sumJob struct {
	at            int
	head, payload int
}

func (p *pendingSums) add(at int, head, payload []byte) {
	p.jobs = append(p.jobs, sumJob{at: at, head: len(head), payload: len(payload)})
	p.arena = append(p.arena, head...)
	p.arena = append(p.arena, payload...)
}

// fill computes every pending sum into buf and empties p.
func (p *pendingSums) fill(buf []byte) {
	var g service.Digester // Sum reads only Legacy, which is false here
	off := 0
	for _, j := range p.jobs {
		var d service.Digest
		g.Sum(&d, p.arena[off:off+j.head], p.arena[off+j.head:off+j.head+j.payload])
		off += j.head + j.payload
		copy(buf[j.at:], d.Sum[:])
	}
	p.jobs, p.arena = p.jobs[:0], p.arena[:0]
}

// CommandDigests writes a commands record of digests computed elsewhere
// (a tool that copies or rewrites a log).
func (w *Writer) CommandDigests(ds []service.Digest) {
	if w.err != nil || w.ended {
		return
	}
	// A digest takes 12 to 20 bytes: a few fit a length of one byte.
	start := w.open(RecordCommands, 1)
	e := &w.inPlace
	e.AppendTo(w.out)
	e.Array(len(ds))
	for i := range ds {
		encodeDigest(e, &ds[i])
	}
	w.out = e.Encoded()
	w.close(start, 1)
	w.commit(start)
}

// Checkpoint records the state hash after action lastID.
func (w *Writer) Checkpoint(lastID uint64, h state.Hash, sections []state.SectionHash) {
	w.enc.Reset()
	w.enc.Uint(lastID)
	w.enc.Bytes(h[:])
	w.enc.Array(len(sections))
	for _, s := range sections {
		w.enc.Bytes(s.Sum[:])
	}
	w.record(RecordCheckpoint, w.enc.Encoded())
}

// Flush writes buffered records to the file, and returns once they are
// written.
func (w *Writer) Flush() error {
	if w.wait() != nil {
		return w.err
	}
	if len(w.out) > 0 {
		w.sums.fill(w.out)
		seal(w.out)
		_, err := w.w.Write(w.out)
		w.out = w.out[:0]
		if err != nil {
			w.err = fmt.Errorf("action log: %w", err)
		}
	}
	return w.err
}

// End writes the end record with the final state hash and its section
// hashes, flushes, syncs and closes the file. The log is complete only after End.
func (w *Writer) End(lastID uint64, h state.Hash, sections []state.SectionHash) error {
	w.enc.Reset()
	w.enc.Uint(lastID)
	w.enc.Bytes(h[:])
	w.enc.Array(len(sections))
	for _, s := range sections {
		w.enc.Bytes(s.Sum[:])
	}
	w.record(RecordEnd, w.enc.Encoded())
	err := w.Flush()
	if w.file != nil {
		if serr := w.file.Sync(); err == nil && serr != nil {
			err = fmt.Errorf("action log: %w", serr)
		}
		if cerr := w.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("action log: %w", cerr)
		}
		w.file = nil
	}
	w.ended = true
	return err
}

// Abort flushes what was written and closes the file without an end
// record, as a crash would leave it.
func (w *Writer) Abort() error {
	err := w.Flush()
	if w.file != nil {
		if cerr := w.file.Close(); err == nil {
			err = cerr
		}
		w.file = nil
	}
	return err
}

// Err is the first write error, if any.
func (w *Writer) Err() error { return w.err }

// Records is the number of records written; Bytes the bytes written.
func (w *Writer) Records() uint64 { return w.records }

// Bytes is the size of the log so far, buffered bytes included.
func (w *Writer) Bytes() uint64 { return w.bytes }
