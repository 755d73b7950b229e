// Package codec is the deterministic CBOR subset that p2pcore uses for its
// action log and its wire messages.
//
// Every value has exactly one encoding: heads use the shortest form, lengths
// are definite, and the decoder rejects anything else. That makes
// decode(b) followed by encode give b back byte for byte, which the fuzz
// tests rely on, and it makes a state hash or a log file reproducible across
// machines. The encoding is plain RFC 8949 CBOR in its core deterministic
// form, so any CBOR tool can read a record. The one exception to a single
// encoding per value is a shared string (Encoder.Shared, for a log's peer
// IDs), whose form depends on what the stream wrote before it.
//
// The package is hand-written rather than reflection-based because the log
// sits on the dispatch hot path: encoding and decoding an action must cost
// tens of nanoseconds, not hundreds.
package codec

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// CBOR major types.
const (
	majorUint   = 0
	majorNegInt = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorSimple = 7
)

const (
	simpleFalse = 20
	simpleTrue  = 21
)

// Encoder appends CBOR items to a byte slice. The zero value is ready to use.
type Encoder struct {
	buf []byte
	// limits, when set, are the decoder's: an item over them is encoded
	// anyway, and Over reports it, so that a writer can refuse to store
	// what its reader would refuse to read.
	limits *Limits
	over   error
	// shared numbers the strings Shared entered (Share).
	shared map[string]uint32
}

// Limits bound the items a decoder accepts: text and byte string lengths
// and array lengths.
type Limits struct {
	String, Bytes, Array int
}

// SetLimits makes the encoder watch for items over l; see Over.
func (e *Encoder) SetLimits(l Limits) { e.limits = &l }

// Over reports the first item since the last Reset that exceeds the
// limits, or nil.
func (e *Encoder) Over() error { return e.over }

func (e *Encoder) check(what string, n, limit int) {
	if e.over == nil && n > limit {
		e.over = fmt.Errorf("%s of %d exceeds the limit of %d", what, n, limit)
	}
}

// NewEncoder returns an encoder that appends to buf[:0].
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf[:0]} }

// AppendTo makes the encoder append to buf, keeping what buf holds, and
// clears Over's error; Encoded then returns buf with what was appended. A
// caller that frames what it encodes writes it in place this way, not
// through a copy.
func (e *Encoder) AppendTo(buf []byte) { e.buf, e.over = buf, nil }

// Reset empties the encoder but keeps its buffer.
func (e *Encoder) Reset() { e.buf, e.over = e.buf[:0], nil }

// Encoded returns what has been encoded so far. The slice is reused by the
// next Reset.
func (e *Encoder) Encoded() []byte { return e.buf }

// Len is the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

func (e *Encoder) head(major byte, v uint64) {
	m := major << 5
	switch {
	case v < 24:
		e.buf = append(e.buf, m|byte(v))
	case v <= math.MaxUint8:
		e.buf = append(e.buf, m|24, byte(v))
	case v <= math.MaxUint16:
		e.buf = append(e.buf, m|25, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		e.buf = append(e.buf, m|26, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		e.buf = append(e.buf, m|27, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// Array starts an array of n items; the caller then encodes exactly n items.
func (e *Encoder) Array(n int) {
	if e.limits != nil {
		e.check("array", n, e.limits.Array)
	}
	e.head(majorArray, uint64(n))
}

// Uint encodes an unsigned integer.
func (e *Encoder) Uint(v uint64) { e.head(majorUint, v) }

// Int encodes a signed integer.
func (e *Encoder) Int(v int64) {
	if v >= 0 {
		e.head(majorUint, uint64(v))
		return
	}
	e.head(majorNegInt, uint64(-(v + 1)))
}

// Bool encodes true or false.
func (e *Encoder) Bool(b bool) {
	if b {
		e.buf = append(e.buf, majorSimple<<5|simpleTrue)
		return
	}
	e.buf = append(e.buf, majorSimple<<5|simpleFalse)
}

// Bytes encodes a byte string.
func (e *Encoder) Bytes(b []byte) {
	if e.limits != nil {
		e.check("byte string", len(b), e.limits.Bytes)
	}
	e.head(majorBytes, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// String encodes s as a text string when it is valid UTF-8 and as a byte
// string otherwise. Go strings may hold any bytes (an error text from the
// operating system, a peer's software name); this keeps every string
// round-tripping exactly while the output stays valid CBOR.
func (e *Encoder) String(s string) {
	if e.limits != nil {
		e.check("string", len(s), e.limits.String)
	}
	if utf8.ValidString(s) {
		e.head(majorText, uint64(len(s)))
	} else {
		e.head(majorBytes, uint64(len(s)))
	}
	e.buf = append(e.buf, s...)
}

// Raw appends bytes that already hold one or more encoded items.
func (e *Encoder) Raw(b []byte) { e.buf = append(e.buf, b...) }
