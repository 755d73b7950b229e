package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Error is a decoding failure with the byte offset where it happened.
type Error struct {
	Offset int
	What   string
}

// Error describes the failure.
func (e *Error) Error() string { return fmt.Sprintf("cbor: %s at byte %d", e.What, e.Offset) }

// Is lets errors.Is(err, ErrTrailing) match the error of Finish.
func (e *Error) Is(target error) bool { return target == ErrTrailing && e.What == ErrTrailing.Error() }

// ErrTrailing reports bytes left over after the last expected item.
var ErrTrailing = errors.New("trailing bytes")

// Decoder reads CBOR items from a byte slice. Errors are sticky: after the
// first failure every read returns a zero value and Err reports the failure,
// so a decoding function can read all its fields and check once at the end.
type Decoder struct {
	data []byte
	off  int
	err  error
	// fast is len(data) while there is no error, 0 after one: the short
	// path on which Array, ArrayMax, Uint and UintMax read one-byte heads
	// needs no other check.
	fast int
	// intern, when set, maps repeated strings (peer IDs, addresses) to one
	// allocation. Replaying a log decodes the same few peer IDs millions of
	// times.
	intern      map[string]string
	internLimit int
	// recent is a direct-mapped cache in front of intern: most strings a
	// log repeats are found here with one comparison instead of a map
	// lookup that hashes the whole string.
	recent *[256]recentString
	// slab, when enabled, is where Bytes carves small slices from, so
	// that decoding a stream of messages costs one allocation per slab
	// rather than one per message.
	slab    []byte
	useSlab bool
	// sharing is set by Share; shared is the table of shared strings.
	sharing bool
	shared  []string
}

// slabSize is the size of one slab; slabMax the largest slice carved from
// one.
const (
	slabSize = 64 << 10
	slabMax  = 4 << 10
)

// NewDecoder returns a decoder over b. The decoder never retains b beyond
// the values it returns by copy.
func NewDecoder(b []byte) *Decoder { return &Decoder{data: b, fast: len(b)} }

// Reset points the decoder at new data and clears its error.
func (d *Decoder) Reset(b []byte) {
	d.data, d.off, d.err, d.fast = b, 0, nil, len(b)
}

// Intern makes String reuse one copy of each distinct string it returns,
// bounded to limit entries.
func (d *Decoder) Intern(limit int) {
	if d.intern == nil {
		d.intern = make(map[string]string)
	}
	d.internLimit = limit
}

// Slab makes Bytes carve small results out of shared 64 KiB blocks. The
// results stay valid and independent of each other, but each keeps its
// block alive: use it when decoded values are short-lived, as in replay.
func (d *Decoder) Slab() { d.useSlab = true }

// Err is the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Offset is the position of the next unread byte.
func (d *Decoder) Offset() int { return d.off }

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.data) - d.off }

// Fail records an error found by the caller (a value out of range, an
// unknown enum) at the current offset, unless an earlier error is recorded.
func (d *Decoder) Fail(format string, args ...any) {
	if d.err == nil {
		d.err = &Error{Offset: d.off, What: fmt.Sprintf(format, args...)}
		d.fast = 0
	}
}

// FailAt is Fail for a value that started at byte off.
func (d *Decoder) FailAt(off int, format string, args ...any) {
	if d.err == nil {
		d.err = &Error{Offset: off, What: fmt.Sprintf(format, args...)}
		d.fast = 0
	}
}

// Finish reports an error if bytes remain after the last item, and returns
// the decoder's error.
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.data) {
		d.err = &Error{Offset: d.off, What: ErrTrailing.Error()}
		d.fast = 0
	}
	return d.err
}

// head reads an item head and returns its major type and argument. It
// rejects indefinite lengths and non-shortest forms.
func (d *Decoder) head() (major byte, arg uint64, ok bool) {
	if d.err != nil {
		return 0, 0, false
	}
	if d.off >= len(d.data) {
		d.Fail("unexpected end of data")
		return 0, 0, false
	}
	start := d.off
	b := d.data[d.off]
	d.off++
	major, info := b>>5, b&0x1f
	var n int
	switch {
	case info < 24:
		return major, uint64(info), true
	case info == 24:
		n = 1
	case info == 25:
		n = 2
	case info == 26:
		n = 4
	case info == 27:
		n = 8
	default:
		d.off = start
		d.Fail("unsupported additional info %d", info)
		return 0, 0, false
	}
	if len(d.data)-d.off < n {
		d.off = start
		d.Fail("unexpected end of data")
		return 0, 0, false
	}
	for i := 0; i < n; i++ {
		arg = arg<<8 | uint64(d.data[d.off+i])
	}
	d.off += n
	// Core deterministic encoding: the argument must use the shortest head.
	// This holds for simple values too: 0xf8 0x14 is a malformed false
	// (RFC 8949, section 3.3), and the float heads 0xf9-0xfb are not
	// supported, so nothing in major type 7 is exempt.
	var min uint64
	switch n {
	case 1:
		min = 24
	case 2:
		min = math.MaxUint8 + 1
	case 4:
		min = math.MaxUint16 + 1
	case 8:
		min = math.MaxUint32 + 1
	}
	if arg < min {
		d.off = start
		d.Fail("non-canonical integer encoding")
		return 0, 0, false
	}
	return major, arg, true
}

// shortHead reads a head whose argument takes no byte, one or two, in
// its shortest form, as head does, with fewer checks; for anything else,
// or near the end of the data or after an error, it reports false and
// reads nothing, and head decides. A log's strings and payloads are
// nearly all of these.
func (d *Decoder) shortHead() (major byte, arg uint64, ok bool) {
	if d.off+2 >= d.fast {
		return 0, 0, false
	}
	b := d.data[d.off]
	major = b >> 5
	switch info := b & 0x1f; {
	case info < 24:
		d.off++
		return major, uint64(info), true
	case info == 24 && d.data[d.off+1] >= 24:
		d.off += 2
		return major, uint64(d.data[d.off-1]), true
	case info == 25 && d.data[d.off+1] != 0:
		d.off += 3
		return major, uint64(d.data[d.off-2])<<8 | uint64(d.data[d.off-1]), true
	}
	return 0, 0, false
}

func (d *Decoder) expect(want byte, what string) (uint64, bool) {
	start := d.off
	major, arg, ok := d.head()
	if !ok {
		return 0, false
	}
	if major != want {
		d.off = start
		d.Fail("expected %s, found major type %d", what, major)
		return 0, false
	}
	return arg, true
}

// Array reads an array head and returns its length. The length is checked
// against the bytes that remain (every item takes at least one byte), so a
// hostile length can never make the caller allocate more than the input.
func (d *Decoder) Array() int {
	// Most heads in a log are one byte, the value in it: an array of
	// fewer than 24 items, an integer below 24 (kinds, steps of IDs and
	// times, channels). Array, ArrayMax, Uint and UintMax read those
	// first, with one comparison, and leave the rest to the general path:
	// reading a log's records alone went from 3.68 to 4.04 M actions/s
	// (BenchmarkReplayRead, medians of 6, alternating).
	if d.off < d.fast {
		if b := d.data[d.off]; b-0x80 < 24 && int(b-0x80) < d.fast-d.off {
			d.off++
			return int(b - 0x80)
		}
	}
	return d.array()
}

func (d *Decoder) array() int {
	start := d.off
	n, ok := d.expect(majorArray, "array")
	if !ok {
		return 0
	}
	if n > uint64(d.Remaining()) {
		d.off = start
		d.Fail("array of %d items exceeds the %d bytes left", n, d.Remaining())
		return 0
	}
	return int(n)
}

// ArrayLen reads an array head and requires exactly n items.
func (d *Decoder) ArrayLen(n int) bool {
	start := d.off
	got := d.Array()
	if d.err != nil {
		return false
	}
	if got != n {
		d.off = start
		d.Fail("expected an array of %d items, found %d", n, got)
		return false
	}
	return true
}

// ArrayMax reads an array head and requires at most max items.
func (d *Decoder) ArrayMax(max int) int {
	if d.off < d.fast {
		if b := d.data[d.off]; b-0x80 < 24 && int(b-0x80) <= max && int(b-0x80) < d.fast-d.off {
			d.off++
			return int(b - 0x80)
		}
	}
	return d.arrayMax(max)
}

func (d *Decoder) arrayMax(max int) int {
	start := d.off
	n := d.Array()
	if d.err == nil && n > max {
		d.off = start
		d.Fail("array of %d items exceeds the limit of %d", n, max)
		return 0
	}
	return n
}

// Uint reads an unsigned integer.
func (d *Decoder) Uint() uint64 {
	if d.off < d.fast {
		if b := d.data[d.off]; b < 24 {
			d.off++
			return uint64(b)
		}
	}
	return d.uint()
}

func (d *Decoder) uint() uint64 {
	// One- and two-byte arguments in their shortest form (a log's action
	// kinds past 23 and its time steps): read here, not through head.
	if d.off+2 < d.fast {
		switch d.data[d.off] {
		case 24:
			if v := d.data[d.off+1]; v >= 24 {
				d.off += 2
				return uint64(v)
			}
		case 25:
			if v := uint64(d.data[d.off+1])<<8 | uint64(d.data[d.off+2]); v > 0xff {
				d.off += 3
				return v
			}
		}
	}
	v, _ := d.expect(majorUint, "unsigned integer")
	return v
}

// UintMax reads an unsigned integer no larger than max.
func (d *Decoder) UintMax(max uint64) uint64 {
	if d.off < d.fast {
		if b := uint64(d.data[d.off]); b < 24 && b <= max {
			d.off++
			return b
		}
	}
	return d.uintMax(max)
}

func (d *Decoder) uintMax(max uint64) uint64 {
	start := d.off
	v := d.Uint()
	if d.err == nil && v > max {
		d.off = start
		d.Fail("integer %d exceeds %d", v, max)
		return 0
	}
	return v
}

// Int reads a signed integer that fits in int64.
func (d *Decoder) Int() int64 {
	start := d.off
	major, arg, ok := d.head()
	if !ok {
		return 0
	}
	switch {
	case major == majorUint && arg <= math.MaxInt64:
		return int64(arg)
	case major == majorNegInt && arg <= math.MaxInt64:
		return -int64(arg) - 1
	}
	d.off = start
	d.Fail("expected a signed 64-bit integer")
	return 0
}

// Bool reads true or false.
func (d *Decoder) Bool() bool {
	start := d.off
	major, arg, ok := d.head()
	if !ok {
		return false
	}
	if major == majorSimple && arg == simpleTrue {
		return true
	}
	if major == majorSimple && arg == simpleFalse {
		return false
	}
	d.off = start
	d.Fail("expected a boolean")
	return false
}

// view reads a byte or text string head and returns the content in place.
func (d *Decoder) view(max int, allowText bool) (b []byte, text bool) {
	start := d.off
	major, n, ok := d.shortHead()
	if !ok {
		if major, n, ok = d.head(); !ok {
			return nil, false
		}
	}
	if major != majorBytes && !(allowText && major == majorText) {
		d.off = start
		if allowText {
			d.Fail("expected a string, found major type %d", major)
		} else {
			d.Fail("expected a byte string, found major type %d", major)
		}
		return nil, false
	}
	if n > uint64(max) {
		d.off = start
		d.Fail("string of %d bytes exceeds the limit of %d", n, max)
		return nil, false
	}
	if n > uint64(d.Remaining()) {
		d.off = start
		d.Fail("string of %d bytes exceeds the %d bytes left", n, d.Remaining())
		return nil, false
	}
	b = d.data[d.off : d.off+int(n)]
	d.off += int(n)
	return b, major == majorText
}

// BytesView reads a byte string of at most max bytes and returns it without
// copying; it aliases the decoder's input.
func (d *Decoder) BytesView(max int) []byte {
	b, _ := d.view(max, false)
	return b
}

// Bytes reads a byte string of at most max bytes into a fresh slice. An
// empty string decodes as nil.
func (d *Decoder) Bytes(max int) []byte {
	b := d.BytesView(max)
	if len(b) == 0 {
		return nil
	}
	if !d.useSlab || len(b) > slabMax {
		out := make([]byte, len(b))
		copy(out, b)
		return out
	}
	if len(d.slab) < len(b) {
		d.slab = make([]byte, slabSize)
	}
	out := d.slab[:len(b):len(b)]
	d.slab = d.slab[len(b):]
	copy(out, b)
	return out
}

// String reads a text string, or a byte string holding invalid UTF-8 (see
// Encoder.String), of at most max bytes. A text string must be valid UTF-8
// and a byte string must not be, so each Go string has one encoding.
func (d *Decoder) String(max int) string {
	start := d.off
	b, text := d.view(max, true)
	if d.err != nil {
		return ""
	}
	var slot *recentString
	if d.intern != nil {
		if d.recent == nil {
			d.recent = new([256]recentString)
		}
		// A string seen a moment ago was checked then: the same bytes
		// are exactly as valid now.
		slot = &d.recent[recentSlot(b)]
		if slot.s == string(b) && slot.valid == text {
			return slot.s
		}
	}
	valid := utf8.Valid(b)
	if text != valid {
		d.off = start
		if text {
			d.Fail("text string is not valid UTF-8")
		} else {
			d.Fail("byte string used for valid UTF-8 text")
		}
		return ""
	}
	if d.intern == nil {
		return string(b)
	}
	s, ok := d.intern[string(b)]
	if !ok {
		s = string(b)
		if len(d.intern) >= d.internLimit {
			return s // past the limit nothing is shared
		}
		d.intern[s] = s
	}
	*slot = recentString{s: s, valid: valid}
	return s
}

// recentString is a cached string and whether it is valid UTF-8.
type recentString struct {
	s     string
	valid bool
}

// recentSlot picks a cache slot from a string's length and last eight
// bytes, where peer IDs and addresses differ (their beginnings are
// shared): multiplied, so that IDs differing in one digit spread over the
// whole cache rather than a few slots.
func recentSlot(b []byte) uint8 {
	n := len(b)
	var w uint64
	if n >= 8 {
		w = binary.LittleEndian.Uint64(b[n-8:])
	} else {
		for i, c := range b {
			w |= uint64(c) << (8 * i)
		}
	}
	return uint8(((w ^ uint64(n)) * 0x9e3779b97f4a7c15) >> 56)
}

// Skip reads and discards one complete item of any supported type, nested
// at most depth levels.
func (d *Decoder) Skip(depth int) {
	start := d.off
	major, arg, ok := d.head()
	if !ok {
		return
	}
	switch major {
	case majorUint, majorNegInt:
	case majorBytes, majorText:
		if arg > uint64(d.Remaining()) {
			d.off = start
			d.Fail("string exceeds the bytes left")
			return
		}
		d.off += int(arg)
	case majorArray:
		if depth <= 0 {
			d.off = start
			d.Fail("nesting too deep")
			return
		}
		if arg > uint64(d.Remaining()) {
			d.off = start
			d.Fail("array exceeds the bytes left")
			return
		}
		for i := uint64(0); i < arg && d.err == nil; i++ {
			d.Skip(depth - 1)
		}
	case majorSimple:
		if arg != simpleTrue && arg != simpleFalse {
			d.off = start
			d.Fail("unsupported simple value %d", arg)
		}
	default:
		d.off = start
		d.Fail("unsupported major type %d", major)
	}
}
