package replay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/fxamacker/cbor/v2"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// CorruptError reports a log that cannot be read past some offset.
type CorruptError struct {
	// Name is the file.
	Name string
	// Offset is where the bad record starts (or where the file ends).
	Offset int64
	// Good is the number of records read without fault before it.
	Good uint64
	// Torn is set when the file simply ends early: a crash or a truncated
	// copy, rather than bytes that changed.
	Torn bool
	What string
}

// Error describes the failure.
func (e *CorruptError) Error() string {
	if e.Torn {
		return fmt.Sprintf("%s: torn tail at offset %d: %s; the %d records before it are good", e.Name, e.Offset, e.What, e.Good)
	}
	return fmt.Sprintf("%s: corrupt record at offset %d (after %d good records): %s", e.Name, e.Offset, e.Good, e.What)
}

// Record is one decoded log record.
type Record struct {
	Type byte
	// shared is the size of the reader's table of shared strings before
	// this record (for a Position).
	shared uint32
	Offset int64
	// Meta and Kind describe input and derived records; Action is the
	// input action; Dropped marks a derived action that was not enabled.
	Meta    action.Meta
	Kind    action.Kind
	Action  action.Action
	Dropped bool
	// LastID, Hash and Sections describe checkpoint and end records.
	LastID   uint64
	Hash     state.Hash
	Sections [][8]byte
	// Commands are the digests of a commands record, whose action is the
	// one recorded just before it (Meta.ID, Kind); or, in an input record
	// of format 4, of the commands of the input itself, which then have
	// no record of their own.
	Commands []service.Digest

	// before is the number of good records before this one, header
	// included (for a Position).
	before uint64
	// payloadHash is the service.PayloadHash of the input's payload
	// (payloadOf), when hashed is set: in a log of format 4 the reading
	// goroutine hashes a payload while its bytes are in its cache, and
	// the replay's digests take the hash from here (see
	// service.Digester.KnowHash).
	payloadHash uint64
	hashed      bool
}

// payloadOf is the payload an input action carries in full and hands on
// to a command (Deliver, Validate, Send, Publish) unchanged: the payloads
// worth hashing once, as the log is read.
func payloadOf(a action.Action) []byte {
	switch a := a.(type) {
	case action.MessageReceived:
		return a.Data
	case action.GossipReceived:
		return a.Data
	case action.SendMessage:
		return a.Data
	case action.BroadcastMessage:
		return a.Data
	}
	return nil
}

var headerDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: 4096,
		MaxMapPairs:      256,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		panic(err) // fixed options; cannot fail
	}
	return dm
}()

// Reader reads a log record by record. It never panics and never reads or
// allocates more than the file holds: every length is checked against the
// bytes that remain before it is trusted.
type Reader struct {
	name   string
	br     *bufio.Reader
	file   *os.File
	size   int64 // -1 when unknown
	off    int64
	header Header

	buf  []byte
	head [4 + binary.MaxVarintLen64]byte // a record's checksum and length
	// win is what the buffered reader holds past the records taken from
	// it without a read (winUsed bytes, not yet discarded from it).
	win      []byte
	winUsed  int
	dec      codec.Decoder
	good     uint64
	prevID   uint64
	prevT    int64
	prevKind action.Kind // of the last input or derived record
	ended    bool
	err      error
}

// Open opens a log file and reads its header.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not an action log", path)
	} else if err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	r, err := NewReader(f, size, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewReader reads a log from in, whose size is size bytes (or -1 if
// unknown); name is used in errors.
func NewReader(in io.Reader, size int64, name string) (*Reader, error) {
	// The read buffer is no larger than a file of known size.
	bufSize := 256 << 10
	if size >= 0 && size < int64(bufSize) {
		bufSize = max(int(size), 16)
	}
	r := &Reader{name: name, br: bufio.NewReaderSize(in, bufSize), size: size}
	r.dec.Intern(4096)
	r.dec.Slab()
	magic := make([]byte, len(Magic))
	n, err := io.ReadFull(r.br, magic)
	if n == 0 && err == io.EOF {
		return nil, &CorruptError{Name: name, Offset: 0, Torn: true, What: "the file is empty"}
	}
	if err != nil || string(magic) != Magic {
		if n < len(Magic) && (err == io.EOF || err == io.ErrUnexpectedEOF) && string(magic[:n]) == Magic[:n] {
			return nil, &CorruptError{Name: name, Offset: int64(n), Torn: true, What: "the file ends inside its magic number"}
		}
		return nil, &CorruptError{Name: name, Offset: 0, What: fmt.Sprintf("not a p2pcore action log (magic %q)", magic[:n])}
	}
	r.off = int64(len(Magic))
	typ, payload, start, err := r.frame()
	if err != nil {
		if err == io.EOF {
			return nil, &CorruptError{Name: name, Offset: r.off, Torn: true, What: "the file ends before its header"}
		}
		return nil, err
	}
	if typ != RecordHeader {
		return nil, r.corrupt(start, "the first record is of type %d, not a header", typ)
	}
	if err := headerDecMode.Unmarshal(payload, &r.header); err != nil {
		return nil, r.corrupt(start, "header: %v", err)
	}
	if r.header.Format < 1 || r.header.Format > FormatVersion {
		return nil, r.corrupt(start, "log format version %d; this build reads versions 1 to %d", r.header.Format, FormatVersion)
	}
	if len(r.header.InitialHash) != len(state.Hash{}) {
		return nil, r.corrupt(start, "header: initial hash of %d bytes", len(r.header.InitialHash))
	}
	if err := r.header.Config.Validate(); err != nil {
		return nil, r.corrupt(start, "header: %v", err)
	}
	if r.header.Format >= 4 {
		r.dec.Share(nil)
	}
	r.prevT = r.header.StartTime
	r.good = 1
	return r, nil
}

// Header is the log's header.
func (r *Reader) Header() Header { return r.header }

// Good is the number of records read so far without fault, header
// included.
func (r *Reader) Good() uint64 { return r.good }

// Offset is the position of the next record.
func (r *Reader) Offset() int64 { return r.off }

// Ended reports whether the end record has been read.
func (r *Reader) Ended() bool { return r.ended }

// Close closes the file opened by Open.
func (r *Reader) Close() error {
	if r.file != nil {
		return r.file.Close()
	}
	return nil
}

func (r *Reader) corrupt(off int64, format string, args ...any) *CorruptError {
	return &CorruptError{Name: r.name, Offset: off, Good: r.good, What: fmt.Sprintf(format, args...)}
}

func (r *Reader) torn(off int64, format string, args ...any) *CorruptError {
	e := r.corrupt(off, format, args...)
	e.Torn = true
	return e
}

// frame reads one framed record and checks its checksum. It returns io.EOF
// only at a record boundary.
func (r *Reader) frame() (typ byte, payload []byte, start int64, err error) {
	start = r.off
	// Most records lie whole in the read buffer: take them from there.
	if p := r.win; len(p) > 4 {
		length, k := binary.Uvarint(p[4:])
		if k > 0 && length > 0 && length <= MaxRecord && uint64(len(p)-4-k) >= length {
			end := 4 + k + int(length)
			want := binary.LittleEndian.Uint32(p)
			if crc := crc32.Checksum(p[4:end], castagnoli); crc != want {
				return 0, nil, start, r.corrupt(start, "checksum mismatch (stored %08x, computed %08x)", want, crc)
			}
			r.win, r.winUsed = p[end:], r.winUsed+end
			r.off = start + int64(end)
			return p[4+k], p[5+k : end], start, nil
		}
	}
	// Otherwise, from the reader itself: give back the window first.
	if r.winUsed > 0 {
		r.br.Discard(r.winUsed)
	}
	r.win, r.winUsed = nil, 0
	typ, payload, start, err = r.frameRead()
	if err == nil {
		// What the reader holds now, without reading: the next window.
		// Valid until the reader reads again, which only frameRead does,
		// after the window is given back.
		r.win, _ = r.br.Peek(r.br.Buffered())
	}
	return typ, payload, start, err
}

// frameRead reads one record from the buffered reader, a piece at a time,
// checking each length against what the file holds.
func (r *Reader) frameRead() (typ byte, payload []byte, start int64, err error) {
	start = r.off
	head := &r.head
	n, err := io.ReadFull(r.br, head[:4])
	if err == io.EOF {
		return 0, nil, start, io.EOF
	}
	if err != nil {
		return 0, nil, start, r.torn(start, "the file ends inside a record's checksum (%d of 4 bytes)", n)
	}
	var length uint64
	lenBytes := 0
	for shift := uint(0); ; shift += 7 {
		b, err := r.br.ReadByte()
		if err != nil {
			return 0, nil, start, r.torn(start, "the file ends inside a record's length")
		}
		head[4+lenBytes] = b
		lenBytes++
		if lenBytes > binary.MaxVarintLen64 || (lenBytes == binary.MaxVarintLen64 && b > 1) {
			return 0, nil, start, r.corrupt(start, "record length overflows")
		}
		length |= uint64(b&0x7f) << shift
		if b < 0x80 {
			break
		}
	}
	bodyStart := start + 4 + int64(lenBytes)
	if length == 0 {
		return 0, nil, start, r.corrupt(start, "record of length 0")
	}
	if length > MaxRecord {
		return 0, nil, start, r.corrupt(start, "record claims %d bytes, more than the %d a record may hold", length, MaxRecord)
	}
	if r.size >= 0 && int64(length) > r.size-bodyStart {
		return 0, nil, start, r.torn(start, "record claims %d bytes, only %d remain", length, r.size-bodyStart)
	}
	// With the size known the length has been checked against it; with
	// the size unknown readBody grows the buffer as the data arrives.
	if r.size >= 0 && cap(r.buf) < int(length) {
		r.buf = make([]byte, 0, min(max(int(length), 2*cap(r.buf)), int(r.size-bodyStart)))
	}
	body, err := r.readBody(int(length))
	if err != nil {
		return 0, nil, start, r.torn(start, "record claims %d bytes, the file ends first", length)
	}
	crc := crc32.Update(crc32.Checksum(head[4:4+lenBytes], castagnoli), castagnoli, body)
	if want := binary.LittleEndian.Uint32(head[:4]); crc != want {
		return 0, nil, start, r.corrupt(start, "checksum mismatch (stored %08x, computed %08x)", want, crc)
	}
	r.off = bodyStart + int64(length)
	return body[0], body[1:], start, nil
}

// readBody reads n bytes. With an unknown size it grows the buffer as data
// arrives, so a corrupt length cannot make it allocate ahead of the data.
func (r *Reader) readBody(n int) ([]byte, error) {
	if n <= r.br.Size() {
		// Most records fit the read buffer: use them where they are,
		// valid until the next read, like r.buf.
		b, err := r.br.Peek(n)
		if err != nil {
			return nil, err
		}
		r.br.Discard(n)
		return b, nil
	}
	if r.size >= 0 {
		b := r.buf[:n]
		_, err := io.ReadFull(r.br, b)
		return b, err
	}
	b := r.buf[:0]
	for len(b) < n {
		chunk := min(n-len(b), 1<<20)
		if cap(b)-len(b) < chunk {
			b = append(b, make([]byte, chunk)...)[:len(b)]
		}
		if _, err := io.ReadFull(r.br, b[len(b):len(b)+chunk]); err != nil {
			return nil, err
		}
		b = b[:len(b)+chunk]
	}
	r.buf = b[:0]
	return b, nil
}

// Next reads the next record. At the end of a complete log it returns
// io.EOF; a log that stops early or holds a bad record yields a
// *CorruptError, and so does every later call.
func (r *Reader) Next() (*Record, error) {
	rec := new(Record)
	if err := r.NextInto(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// NextInto is Next without the allocation: it fills rec. The replayer uses
// it to read millions of records without creating garbage for each.
func (r *Reader) NextInto(rec *Record) error {
	if r.err != nil {
		return r.err
	}
	shared := uint32(r.dec.SharedLen())
	if err := r.next(rec); err != nil {
		r.err = err
		return err
	}
	rec.before, rec.shared = r.good, shared
	r.good++
	return nil
}

// reset readies a record slot for the next record: field by field, since
// writing the whole struct (its 32-byte hash and interface included) for
// every record showed in replay profiles. The hash is cleared only where
// it was set.
func (rec *Record) reset(typ byte, off int64, cmds []service.Digest, sections [][8]byte) {
	if rec.Type == RecordCheckpoint || rec.Type == RecordEnd {
		rec.Hash = state.Hash{}
	}
	rec.Type, rec.Offset = typ, off
	rec.Meta, rec.Kind, rec.Dropped, rec.LastID, rec.hashed = action.Meta{}, 0, false, 0, false
	if rec.Action != nil {
		rec.Action = nil
	}
	rec.Commands, rec.Sections = cmds, sections
}

func (r *Reader) next(rec *Record) error {
	typ, payload, start, err := r.frame()
	if err == io.EOF {
		if r.ended {
			return io.EOF
		}
		return r.torn(r.off, "the log ends without its end record (the node did not close it)")
	}
	if err != nil {
		return err
	}
	if r.ended {
		return r.corrupt(start, "record after the end record")
	}
	// Reuse the record's lists: the replayer reads millions of records
	// into a few slots.
	cmds, sections := rec.Commands[:0], rec.Sections[:0]
	rec.reset(typ, start, cmds, sections)
	d := &r.dec
	d.Reset(payload)
	switch typ {
	case RecordInput:
		rec.Kind = action.Kind(d.UintMax(1<<16 - 1))
		idDelta, tDelta := d.Uint(), d.UintMax(1<<62)
		if d.Err() == nil && !rec.Kind.Input() {
			return r.corrupt(start, "input record of kind %d, which is not an input kind", rec.Kind)
		}
		if d.Err() == nil && idDelta == 0 {
			return r.corrupt(start, "input record does not advance the action ID")
		}
		rec.Meta = action.Meta{ID: r.prevID + idDelta, Time: r.prevT + int64(tDelta)}
		if d.Err() == nil {
			decode := action.Decode
			if r.header.Format >= 4 {
				decode = action.DecodeItem // its commands may follow
			}
			a, err := decode(rec.Kind, d)
			if err != nil {
				return r.corrupt(start, "%v", err)
			}
			rec.Action = a
			if r.header.Format >= 4 {
				if p := payloadOf(a); len(p) > 0 && len(p) <= r.header.Config.RecordPayloadLimit {
					rec.payloadHash, rec.hashed = service.PayloadHash(p), true
				}
				// The digests of the input's commands may follow it in
				// its own record.
				if d.Err() == nil && d.Remaining() > 0 {
					var msg string
					if rec.Commands, msg = readDigests(d, payload[d.Offset():], cmds); msg == "" && d.Err() != nil {
						msg = d.Err().Error()
					}
					if msg != "" {
						return r.corrupt(start, "the input's commands: %s", msg)
					}
				}
			}
		}
		r.prevID, r.prevT, r.prevKind = rec.Meta.ID, rec.Meta.Time, rec.Kind
	case RecordDerived:
		k, idDelta, parentDelta := d.UintMax(1<<17-1), d.Uint(), d.Uint()
		rec.Kind, rec.Dropped = action.Kind(k>>1), k&1 == 1
		id := r.prevID + idDelta
		if d.Err() == nil && (idDelta == 0 || parentDelta == 0 || parentDelta >= id || !rec.Kind.Known()) {
			return r.corrupt(start, "derived record with kind %d, ID step %d, parent step %d", rec.Kind, idDelta, parentDelta)
		}
		rec.Meta = action.Meta{ID: id, Time: r.prevT, Parent: id - parentDelta}
		r.prevID, r.prevKind = id, rec.Kind
	case RecordCommands:
		if r.prevID == 0 || r.header.Format < 2 {
			return r.corrupt(start, "a commands record with no action before it")
		}
		rec.Meta, rec.Kind = action.Meta{ID: r.prevID, Time: r.prevT}, r.prevKind
		var msg string
		if rec.Commands, msg = readDigests(d, payload, cmds); msg != "" {
			return r.corrupt(start, "%s", msg)
		}
	case RecordCheckpoint, RecordEnd:
		rec.LastID = d.Uint()
		h := d.BytesView(32)
		if d.Err() == nil && len(h) != 32 {
			return r.corrupt(start, "hash of %d bytes", len(h))
		}
		copy(rec.Hash[:], h)
		// Version 1 end records have no section hashes.
		if typ == RecordCheckpoint || r.header.Format >= 2 {
			n := d.ArrayMax(64)
			for i := 0; i < n && d.Err() == nil; i++ {
				var s [8]byte
				b := d.BytesView(8)
				if d.Err() == nil && len(b) != len(s) {
					return r.corrupt(start, "section hash of %d bytes", len(b))
				}
				copy(s[:], b)
				sections = append(sections, s)
				rec.Sections = sections
			}
		}
		if typ == RecordEnd {
			r.ended = true
		}
	case RecordHeader:
		return r.corrupt(start, "a second header")
	default:
		return r.corrupt(start, "unknown record type %d", typ)
	}
	if err := d.Finish(); err != nil {
		r.ended = false
		return r.corrupt(start, "%v", err)
	}
	return nil
}

// readDigests reads the digests of a commands record from payload, which
// d is reset to, appended to cmds; or says what is wrong with them.
func readDigests(d *codec.Decoder, payload []byte, cmds []service.Digest) ([]service.Digest, string) {
	if quick, ok := quickDigests(payload, cmds); ok {
		d.Reset(nil)
		return quick, ""
	}
	return decodeDigests(d, cmds)
}

// decodeDigests is readDigests through the decoder, for every form.
func decodeDigests(d *codec.Decoder, cmds []service.Digest) ([]service.Digest, string) {
	n := d.ArrayMax(action.MaxList)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.ArrayLen(4)
		c := service.Digest{Kind: service.CommandKind(d.UintMax(255)), Channel: state.Channel(d.UintMax(255)), Size: d.Uint()}
		sum := d.BytesView(8)
		if d.Err() == nil && (len(sum) != 8 || !c.Kind.Known()) {
			return cmds, fmt.Sprintf("command %d: kind %d, digest of %d bytes", i, c.Kind, len(sum))
		}
		copy(c.Sum[:], sum)
		cmds = append(cmds, c)
	}
	if d.Err() == nil && n == 0 {
		return cmds, "an empty commands record"
	}
	return cmds, ""
}

// quickDigests reads a commands record in the form nearly every one has:
// fewer than 24 digests, each [kind, channel, size, 8-byte sum] with kind
// and channel under 24 and size under 65,536, all in their shortest form.
// It appends them to cmds, or reports false for anything else (a longer
// form, an unknown kind, bytes left over), which the decoder then reads
// and, if it is wrong, describes. About half the records of a log are
// commands records, and reading them item by item showed in replay
// profiles.
func quickDigests(b []byte, cmds []service.Digest) ([]service.Digest, bool) {
	if len(b) == 0 || b[0]>>5 != 4 || b[0]&0x1f == 0 || b[0]&0x1f >= 24 {
		return cmds, false
	}
	n := int(b[0] & 0x1f)
	b = b[1:]
	for i := 0; i < n; i++ {
		if len(b) < 4 || b[0] != 0x84 || b[1] >= 24 || b[2] >= 24 {
			return cmds, false
		}
		kind, ch := service.CommandKind(b[1]), state.Channel(b[2])
		var size uint64
		b = b[3:]
		switch {
		case b[0] < 24:
			size, b = uint64(b[0]), b[1:]
		case b[0] == 0x18 && len(b) >= 2 && b[1] >= 24:
			size, b = uint64(b[1]), b[2:]
		case b[0] == 0x19 && len(b) >= 3 && b[1] != 0:
			size, b = uint64(b[1])<<8|uint64(b[2]), b[3:]
		default:
			return cmds, false
		}
		if len(b) < 9 || b[0] != 0x48 || !kind.Known() {
			return cmds, false
		}
		// Written in place, field by field: a digest built on the stack
		// and copied whole stalled on its own narrower stores.
		cmds = append(cmds, service.Digest{})
		c := &cmds[len(cmds)-1]
		c.Kind, c.Channel, c.Size = kind, ch, size
		copy(c.Sum[:], b[1:9])
		b = b[9:]
	}
	return cmds, len(b) == 0
}

// ErrNotComplete is matched by errors.Is for a log that stops early.
var ErrNotComplete = errors.New("log not complete")

// Is lets errors.Is(err, ErrNotComplete) match torn logs.
func (e *CorruptError) Is(target error) bool { return target == ErrNotComplete && e.Torn }
