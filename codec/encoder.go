// Package codec is the deterministic CBOR subset that p2pcore uses for its
// action log and its wire messages.
//
// Every value has exactly one encoding: heads use the shortest form, lengths
// are definite, and the decoder rejects anything else. That makes
// decode(b) followed by encode give b back byte for byte, which the fuzz
// tests rely on, and it makes a state hash or a log file reproducible across
// machines. The encoding is plain RFC 8949 CBOR in its core deterministic
// form, so any CBOR tool can read a record.
//
// The package is hand-written rather than reflection-based because the log
// sits on the dispatch hot path: encoding and decoding an action must cost
// tens of nanoseconds, not hundreds.
package codec

import (
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
}

// NewEncoder returns an encoder that appends to buf[:0].
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf[:0]} }

// Reset empties the encoder but keeps its buffer.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

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
func (e *Encoder) Array(n int) { e.head(majorArray, uint64(n)) }

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
	e.head(majorBytes, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// String encodes s as a text string when it is valid UTF-8 and as a byte
// string otherwise. Go strings may hold any bytes (an error text from the
// operating system, a peer's software name); this keeps every string
// round-tripping exactly while the output stays valid CBOR.
func (e *Encoder) String(s string) {
	if utf8.ValidString(s) {
		e.head(majorText, uint64(len(s)))
	} else {
		e.head(majorBytes, uint64(len(s)))
	}
	e.buf = append(e.buf, s...)
}

// Raw appends bytes that already hold one or more encoded items.
func (e *Encoder) Raw(b []byte) { e.buf = append(e.buf, b...) }
