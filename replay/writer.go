package replay

import (
	"crypto/sha256"
	"fmt"
	"io"
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
// The node's goroutine only notes what it is given, in a batch; when the
// batch is full, a goroutine of the Writer's own encodes it (framing,
// command digests) and another checksums and writes each full buffer,
// while the node fills the next batch. Encoding took about as long as the
// node's own work for an action, and on two cores the node now does not
// wait for it. So the actions,
// commands and payloads given to a Writer must not change afterwards (a
// node's never do: its payloads are read-only once handed over). Inputs
// and commands that hold anything else a reducer might change in place
// (address lists, snapshots) are encoded or digested at once, on the
// node's goroutine, as before.
//
// A Writer is used from one goroutine at a time.
type Writer struct {
	file *os.File
	// enc belongs to the background while batches are in flight, to the
	// Writer's goroutine otherwise. The pads keep it off the cache lines
	// of the fields the node's goroutine reads for every action: the
	// background writes enc's counters for every record, and sharing a
	// line with them made each of those reads a miss to the other core
	// (noting an action cost about 100 ns instead of 40).
	_      [128]byte
	enc    logEncoder
	_      [128]byte
	fill   *writeBatch   // the batch being noted
	flying []*writeBatch // handed off, oldest first
	free   []*writeBatch // encoded, for reuse
	// now encodes and digests on the node's goroutine what cannot wait.
	now          codec.Encoder
	nowDigest    service.Digester
	payloadLimit int
	err          error
	ended        bool
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
	w := &Writer{fill: new(writeBatch), payloadLimit: h.Config.RecordPayloadLimit}
	e := &w.enc
	e.w, e.out, e.prevT, e.payloadLimit = out, make([]byte, 0, writeBuffer), h.StartTime, h.Config.RecordPayloadLimit
	e.digest.Limit = h.Config.RecordPayloadLimit
	e.digest.Legacy = h.Format < 3 // a copy of an older log keeps its digests
	e.digest.Separate = h.Format >= 4
	w.nowDigest = e.digest
	e.enc.SetLimits(action.Limits())
	e.inPlace.SetLimits(action.Limits())
	e.inline = h.Format >= 4
	if h.Format >= 4 {
		// Peer IDs by reference after their first record. Only the
		// background's encoder shares: it frames every record in file
		// order. What the node's goroutine encodes (w.now) is framed
		// later, between records the background encoded, so it names
		// peers in full.
		e.inPlace.Share()
	}
	w.now.SetLimits(action.Limits())
	payload, err := headerEncMode.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("action log header: %w", err)
	}
	if _, err := io.WriteString(out, Magic); err != nil {
		return nil, fmt.Errorf("action log: %w", err)
	}
	e.bytes += uint64(len(Magic))
	e.record(RecordHeader, payload)
	return w, e.err
}

// KeepPayloads makes the writer record every payload in full, however
// large (p2pnode run --record-payloads full).
func (w *Writer) KeepPayloads() {
	w.drain()
	w.payloadLimit, w.enc.payloadLimit = -1, -1
}

// Input records an input action in full, but for an application payload
// over the header's Config.RecordPayloadLimit, which it records as length
// and SHA-256.
func (w *Writer) Input(m action.Meta, a action.Action) {
	if w.err != nil || w.ended {
		return
	}
	b := w.fill
	k := a.Kind()
	if int(k) < len(deferInput) && deferInput[k] {
		b.recs = append(b.recs, pendingRecord{what: RecordInput, m: m, a: a})
		if p, ok := a.(interface{ Len() int }); ok {
			b.held += p.Len()
		}
		w.noted()
		return
	}
	// It may share a list with the state: encode it now.
	if d, ok := a.(action.Digester); ok && w.payloadLimit >= 0 {
		if digested, ok := d.Digested(w.payloadLimit, sha256.Sum256); ok {
			a = digested
		}
	}
	w.now.Reset()
	a.EncodeCBOR(&w.now)
	if err := w.now.Over(); err != nil {
		// The reader would refuse this record and everything after it.
		// Stop here, loudly, with what was recorded before on disk.
		w.err = fmt.Errorf("action log: input #%d (%s) cannot be recorded: %w", m.ID, k, err)
		b.recs = append(b.recs, pendingRecord{what: recordRefused})
		b.refused = w.err
		w.Flush()
		return
	}
	lo := len(b.encoded)
	b.encoded = append(b.encoded, w.now.Encoded()...)
	b.held += len(b.encoded) - lo
	b.recs = append(b.recs, pendingRecord{what: recordInputEncoded, m: m, kind: k, lo: int32(lo), hi: int32(len(b.encoded))})
	w.noted()
}

// Derived records a derived action as its kind and ID.
func (w *Writer) Derived(m action.Meta, a action.Action, dropped bool) {
	if w.err != nil || w.ended {
		return
	}
	w.fill.recs = append(w.fill.recs, pendingRecord{what: RecordDerived, m: m, kind: a.Kind(), dropped: dropped})
	w.noted()
}

// Commands records a digest of each command an action produced, right
// after the action's own record.
func (w *Writer) Commands(_ action.Meta, _ action.Action, cmds []service.Command) {
	if w.err != nil || w.ended {
		return
	}
	b := w.fill
	lo := len(b.cmds)
	for _, c := range cmds {
		if n, ok := deferCommand(c); ok {
			if d, ok := c.(*service.Deliver); ok {
				// The store reuses *d for its next input.
				b.delivers = append(b.delivers, *d)
				c = &b.delivers[len(b.delivers)-1]
			}
			b.cmds = append(b.cmds, c)
			b.held += n
			continue
		}
		// It may share a list with the state: digest it now.
		b.cmds = append(b.cmds, nil)
		b.digests = append(b.digests, service.Digest{})
		w.nowDigest.DigestTo(&b.digests[len(b.digests)-1], c)
	}
	b.recs = append(b.recs, pendingRecord{what: RecordCommands, lo: int32(lo), hi: int32(len(b.cmds))})
	w.noted()
}

// CommandDigests writes a commands record of digests computed elsewhere
// (a tool that copies or rewrites a log).
func (w *Writer) CommandDigests(ds []service.Digest) {
	if w.err != nil || w.ended {
		return
	}
	b := w.fill
	lo := len(b.cmds)
	for range ds {
		b.cmds = append(b.cmds, nil)
	}
	b.digests = append(b.digests, ds...)
	b.recs = append(b.recs, pendingRecord{what: RecordCommands, lo: int32(lo), hi: int32(len(b.cmds))})
	w.noted()
}

// Checkpoint records the state hash after action lastID.
func (w *Writer) Checkpoint(lastID uint64, h state.Hash, sections []state.SectionHash) {
	if w.err != nil || w.ended {
		return
	}
	b := w.fill
	lo := len(b.sections)
	b.sections = append(b.sections, sections...)
	b.hashes = append(b.hashes, h)
	b.recs = append(b.recs, pendingRecord{what: RecordCheckpoint, m: action.Meta{ID: lastID}, lo: int32(lo), hi: int32(len(b.sections))})
	w.noted()
}

// noted hands the batch to the background once it is full.
func (w *Writer) noted() {
	if b := w.fill; len(b.recs) >= batchRecords || b.held >= batchBytes {
		w.handOff()
	}
}

// handOff sends the full batch to be encoded and written in the
// background, after those handed off before it, and takes an empty one.
// Up to maxFlying batches are in flight: waking a goroutine takes a while
// on a virtual machine, and with only one in flight the node often waited
// for the encoder's wake-up, the encoder for the node's.
func (w *Writer) handOff() {
	// Batches encoded already go back at once: a writer that records
	// slowly then holds one or two, not maxFlying.
	for len(w.flying) > 0 && w.flying[0].landed() {
		w.land()
	}
	if len(w.flying) == maxFlying {
		w.land()
	}
	if w.err != nil {
		w.fill.reset()
		return
	}
	b := w.fill
	var prev <-chan struct{}
	if n := len(w.flying); n > 0 {
		prev = w.flying[n-1].done
	}
	b.done = make(chan struct{})
	go func() {
		if prev != nil {
			<-prev
		}
		w.enc.encode(b)
		b.reset()
		b.err = w.enc.err
		close(b.done)
	}()
	w.flying = append(w.flying, b)
	if n := len(w.free); n > 0 {
		w.fill, w.free = w.free[n-1], w.free[:n-1]
	} else {
		w.fill = newBatch()
	}
}

// land waits for the oldest batch in flight and returns the sticky error.
func (w *Writer) land() error {
	b := w.flying[0]
	<-b.done
	if b.err != nil && w.err == nil {
		w.err = b.err
	}
	w.flying = append(w.flying[:0], w.flying[1:]...)
	if len(w.free) == 0 {
		w.free = append(w.free, b) // one is all a steady stream needs
	}
	return w.err
}

// wait waits for every batch in flight and returns the sticky error.
func (w *Writer) wait() error {
	for len(w.flying) > 0 {
		w.land()
	}
	return w.err
}

// drain encodes everything noted so far, here and now; the encoder is the
// caller's afterwards, until the next hand-off.
func (w *Writer) drain() {
	w.wait()
	w.enc.encode(w.fill)
	w.fill.reset()
	if w.err == nil {
		w.err = w.enc.err
	}
}

// Flush writes buffered records to the file, and returns once they are
// written.
func (w *Writer) Flush() error {
	w.drain()
	w.enc.flush()
	if w.err == nil {
		w.err = w.enc.err
	}
	return w.err
}

// End writes the end record with the final state hash and its section
// hashes, flushes, syncs and closes the file. The log is complete only after End.
func (w *Writer) End(lastID uint64, h state.Hash, sections []state.SectionHash) error {
	w.drain()
	if w.err == nil && !w.ended {
		w.enc.hashRecord(RecordEnd, lastID, &h, sections)
	}
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

// Err is the first error met so far. One found while encoding in the
// background (a write that failed, an input the reader would refuse)
// shows from the next hand-off of a batch, and at the latest from Flush.
func (w *Writer) Err() error { return w.err }

// Records is the number of records written, buffered ones included.
func (w *Writer) Records() uint64 {
	w.drain()
	return w.enc.records
}

// Bytes is the size of the log so far, buffered bytes included.
func (w *Writer) Bytes() uint64 {
	w.drain()
	return w.enc.bytes
}
