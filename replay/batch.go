package replay

import (
	"reflect"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// A writeBatch is what a Writer was given since its last hand-off, in
// order, still to encode: the records, and the lists they refer to.
type writeBatch struct {
	recs []pendingRecord
	// cmds are the commands of commands records; a nil one stands for
	// the next of digests, computed already.
	cmds []service.Command
	// delivers hold copies of the deliver commands in cmds, which point
	// to them: the store reuses its own after each input.
	delivers []service.Deliver
	digests  []service.Digest
	sections []state.SectionHash
	hashes   []state.Hash // one per checkpoint, in order
	encoded  []byte       // inputs encoded on the node's goroutine
	// held counts the payload bytes the batch keeps alive, to hand it off
	// before it holds many.
	held int
	// refused is the error of an input the log cannot hold (its record
	// is recordRefused).
	refused error
	// done is closed once the batch is encoded, with err the encoder's
	// sticky error then.
	done chan struct{}
	err  error
}

// pendingRecord is one record noted in a batch. Its lo and hi delimit its
// part of the batch's cmds (commands), sections (checkpoint) or encoded
// (an input encoded already).
type pendingRecord struct {
	m       action.Meta // ID is a checkpoint's last action
	a       action.Action
	kind    action.Kind
	what    byte // a record type, or one of the two below
	dropped bool
	lo, hi  int32
}

// The kinds of pendingRecord beyond the record types.
const (
	recordInputEncoded byte = 100 + iota
	recordRefused
)

// Batch limits: a batch is handed off once it holds batchRecords records
// or batchBytes of payloads (kept alive, or encoded already). A thousand
// records are a few hundred actions, a hand-off every hundred
// microseconds or so at full speed. Up to maxFlying batches are in
// flight; with the one being filled and a spare, that is the memory a
// Writer adds at full speed (under half a megabyte), and two or three
// batches for a node that records slowly.
const (
	batchRecords = 1024
	batchBytes   = 1 << 20
	maxFlying    = 4
)

// encode frames every record of b, in order, writing the buffer out
// whenever it fills.
func (e *logEncoder) encode(b *writeBatch) {
	hashes := b.hashes
	digests := b.digests
	// commandsOf returns the commands of the commands record r and the
	// digests computed for them already, taken from digests.
	commandsOf := func(r *pendingRecord) ([]service.Command, []service.Digest) {
		cmds := b.cmds[r.lo:r.hi]
		n := 0
		for _, c := range cmds {
			if c == nil {
				n++
			}
		}
		ds := digests[:n]
		digests = digests[n:]
		return cmds, ds
	}
	for i := 0; i < len(b.recs); i++ {
		r := &b.recs[i]
		switch r.what {
		case RecordInput, recordInputEncoded:
			// An input's commands, noted right after it, go in its own
			// record (format 4): one record an action, not two. Split
			// by a batch's end, they take a record of their own.
			var cmds []service.Command
			var ds []service.Digest
			if e.inline && i+1 < len(b.recs) && b.recs[i+1].what == RecordCommands {
				cmds, ds = commandsOf(&b.recs[i+1])
				i++
			}
			if r.what == RecordInput {
				e.input(r.m, r.a, cmds, ds)
			} else {
				e.inputEncoded(r.m, r.kind, b.encoded[r.lo:r.hi], cmds, ds)
			}
		case RecordDerived:
			e.derived(r.m, r.kind, r.dropped)
		case RecordCommands:
			e.commands(commandsOf(r))
		case RecordCheckpoint:
			e.hashRecord(RecordCheckpoint, r.m.ID, &hashes[0], b.sections[r.lo:r.hi])
			hashes = hashes[1:]
		case recordRefused:
			e.refuse(len(e.out), b.refused)
		}
	}
}

// newBatch makes a batch with room for a full one's records and
// commands, so that filling it does not grow them step by step.
func newBatch() *writeBatch {
	return &writeBatch{
		recs:     make([]pendingRecord, 0, batchRecords),
		cmds:     make([]service.Command, 0, batchRecords/2),
		delivers: make([]service.Deliver, 0, batchRecords/2),
	}
}

// landed reports whether b's encoding is done.
func (b *writeBatch) landed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// reset empties b for reuse, letting go of what it referred to.
func (b *writeBatch) reset() {
	clear(b.recs)
	clear(b.cmds)
	clear(b.delivers)
	b.recs, b.cmds, b.delivers = b.recs[:0], b.cmds[:0], b.delivers[:0]
	b.digests, b.sections, b.hashes, b.encoded = b.digests[:0], b.sections[:0], b.hashes[:0], b.encoded[:0]
	b.held, b.refused = 0, nil
}

// deferInput tells, by kind, the input actions whose encoding can wait
// for the background: those that hold nothing but values, strings and a
// payload (Data), none of which anyone changes once the action is
// dispatched. An action with another list (addresses, peers, channel
// descriptions) may share it with the state, which reducers change in
// place, and is encoded at once.
var deferInput = func() []bool {
	kinds := action.Kinds()
	t := make([]bool, kinds[len(kinds)-1]+1)
	for _, k := range kinds {
		if z, ok := action.Zero(k); ok && k.Input() {
			t[k] = holdsOnlyValues(reflect.TypeOf(z), "")
		}
	}
	return t
}()

// deferCommand reports whether a command's digest can wait for the
// background, by the rule of deferInput, and the bytes of payload it
// holds. TestDeferredCommandsHoldOnlyValues checks the list.
func deferCommand(c service.Command) (int, bool) {
	switch c := c.(type) {
	case *service.Deliver:
		// Only by a copy (see Writer.Commands).
		return len(c.Data), true
	case service.Send:
		return len(c.Data), true
	case service.Publish:
		return len(c.Data), true
	case service.Validate:
		return len(c.Data), true
	case service.Request:
		return len(c.Data), true
	case service.Respond:
		return len(c.Data), true
	case service.Serve:
		return len(c.Data), true
	case service.Complete:
		return len(c.Data), true
	case service.SessionWrite:
		return len(c.Data), true
	case service.SessionDeliver:
		return len(c.Data), true
	case service.Close, service.Verdict, service.DeliverHeld, service.Throttle, service.Unthrottle,
		service.AcceptStream, service.ResetStream, service.OpenSession, service.EndSession:
		return 0, true
	}
	return 0, false
}

// holdsOnlyValues reports whether a value of type t holds nothing that can
// change under it: numbers, booleans, strings, arrays and structs of them,
// and a byte slice only as a field named Data, a payload.
func holdsOnlyValues(t reflect.Type, field string) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Array:
		return holdsOnlyValues(t.Elem(), "")
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); !holdsOnlyValues(f.Type, f.Name) {
				return false
			}
		}
		return true
	case reflect.Slice:
		return field == "Data" && t.Elem().Kind() == reflect.Uint8
	}
	return false
}
