package codec_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/fxamacker/cbor/v2"

	"github.com/p2pcore/p2pcore/codec"
)

// h decodes a hex string, ignoring spaces, for readable expected encodings.
func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func encode(f func(e *codec.Encoder)) []byte {
	var e codec.Encoder
	f(&e)
	return e.Encoded()
}

// --- Encoder -------------------------------------------------------------

// headCases are the head-size boundaries with the expected head after the
// major-type bits (the low five bits of the first byte plus the argument).
var headCases = []struct {
	v    uint64
	head string // major type 0
}{
	{0, "00"},
	{1, "01"},
	{23, "17"},
	{24, "18 18"},
	{255, "18 ff"},
	{256, "19 0100"},
	{65535, "19 ffff"},
	{65536, "1a 00010000"},
	{math.MaxUint32, "1a ffffffff"},
	{math.MaxUint32 + 1, "1b 0000000100000000"},
	{math.MaxUint64, "1b ffffffffffffffff"},
}

// withMajor rewrites the major type of an expected major-0 head.
func withMajor(t testing.TB, head string, major byte) []byte {
	b := h(t, head)
	b[0] |= major << 5
	return b
}

func TestEncoderUint(t *testing.T) {
	for _, c := range headCases {
		got := encode(func(e *codec.Encoder) { e.Uint(c.v) })
		if want := h(t, c.head); !bytes.Equal(got, want) {
			t.Errorf("Uint(%d) = % x, want % x", c.v, got, want)
		}
	}
}

func TestEncoderArray(t *testing.T) {
	for _, c := range headCases {
		if c.v > math.MaxInt {
			continue
		}
		got := encode(func(e *codec.Encoder) { e.Array(int(c.v)) })
		if want := withMajor(t, c.head, 4); !bytes.Equal(got, want) {
			t.Errorf("Array(%d) = % x, want % x", c.v, got, want)
		}
	}
}

func TestEncoderInt(t *testing.T) {
	for _, c := range headCases {
		if c.v > math.MaxInt64 {
			continue
		}
		v := int64(c.v)
		got := encode(func(e *codec.Encoder) { e.Int(v) })
		if want := h(t, c.head); !bytes.Equal(got, want) {
			t.Errorf("Int(%d) = % x, want % x", v, got, want)
		}
		// -1-v has argument v and major type 1.
		got = encode(func(e *codec.Encoder) { e.Int(-1 - v) })
		if want := withMajor(t, c.head, 1); !bytes.Equal(got, want) {
			t.Errorf("Int(%d) = % x, want % x", -1-v, got, want)
		}
	}
	for _, c := range []struct {
		v    int64
		want string
	}{
		{-1, "20"},
		{-24, "37"},
		{-25, "38 18"},
		{-256, "38 ff"},
		{-257, "39 0100"},
		{math.MaxInt64, "1b 7fffffffffffffff"},
		{math.MinInt64, "3b 7fffffffffffffff"},
		{math.MinInt64 + 1, "3b 7ffffffffffffffe"},
	} {
		got := encode(func(e *codec.Encoder) { e.Int(c.v) })
		if want := h(t, c.want); !bytes.Equal(got, want) {
			t.Errorf("Int(%d) = % x, want % x", c.v, got, want)
		}
	}
}

func TestEncoderBool(t *testing.T) {
	if got := encode(func(e *codec.Encoder) { e.Bool(false) }); !bytes.Equal(got, []byte{0xf4}) {
		t.Errorf("Bool(false) = % x, want f4", got)
	}
	if got := encode(func(e *codec.Encoder) { e.Bool(true) }); !bytes.Equal(got, []byte{0xf5}) {
		t.Errorf("Bool(true) = % x, want f5", got)
	}
}

func TestEncoderBytesAndString(t *testing.T) {
	for _, c := range headCases {
		if c.v > 1<<17 {
			break // the content would be too large to build
		}
		b := bytes.Repeat([]byte{'a'}, int(c.v))

		got := encode(func(e *codec.Encoder) { e.Bytes(b) })
		want := append(withMajor(t, c.head, 2), b...)
		if !bytes.Equal(got, want) {
			t.Errorf("Bytes(len %d): head % x, want % x", c.v, got[:min(len(got), 9)], want[:min(len(want), 9)])
		}

		got = encode(func(e *codec.Encoder) { e.String(string(b)) })
		want = append(withMajor(t, c.head, 3), b...)
		if !bytes.Equal(got, want) {
			t.Errorf("String(len %d): head % x, want % x", c.v, got[:min(len(got), 9)], want[:min(len(want), 9)])
		}
	}
	for _, c := range []struct {
		name string
		s    string
		want string
	}{
		{"empty", "", "60"},
		{"ascii", "abc", "63 616263"},
		{"multibyte", "é€", "65 c3a9e282ac"},
		{"lone continuation", "\x80", "41 80"},
		{"truncated rune", "a\xe2\x82", "43 61e282"},
		{"surrogate", "\xed\xa0\x80", "43 eda080"},
		{"invalid tail", "ok\xff", "43 6f6bff"},
	} {
		got := encode(func(e *codec.Encoder) { e.String(c.s) })
		if want := h(t, c.want); !bytes.Equal(got, want) {
			t.Errorf("String(%s %q) = % x, want % x", c.name, c.s, got, want)
		}
	}
	if got := encode(func(e *codec.Encoder) { e.Bytes(nil) }); !bytes.Equal(got, []byte{0x40}) {
		t.Errorf("Bytes(nil) = % x, want 40", got)
	}
	// A byte string holding valid UTF-8 is still a byte string.
	if got := encode(func(e *codec.Encoder) { e.Bytes([]byte("hi")) }); !bytes.Equal(got, h(t, "42 6869")) {
		t.Errorf("Bytes(hi) = % x, want 42 6869", got)
	}
}

func TestEncoderBuffer(t *testing.T) {
	buf := make([]byte, 3, 64)
	e := codec.NewEncoder(buf)
	if e.Len() != 0 {
		t.Fatalf("NewEncoder: Len = %d, want 0", e.Len())
	}
	e.Array(2)
	e.Uint(1)
	e.Raw([]byte{0x82, 0xf5, 0x20}) // [true, -1]
	want := h(t, "82 01 82 f5 20")
	if got := e.Encoded(); !bytes.Equal(got, want) {
		t.Fatalf("Encoded = % x, want % x", got, want)
	}
	if e.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", e.Len(), len(want))
	}
	if &e.Encoded()[0] != &buf[:1][0] {
		t.Error("NewEncoder did not reuse the buffer")
	}
	e.Reset()
	if e.Len() != 0 || len(e.Encoded()) != 0 {
		t.Fatalf("after Reset: Len = %d", e.Len())
	}
	e.Bool(true)
	if got := e.Encoded(); !bytes.Equal(got, []byte{0xf5}) || &got[0] != &buf[:1][0] {
		t.Errorf("after Reset: Encoded = % x, or buffer not reused", got)
	}
}

// --- cross-check with fxamacker/cbor ----------------------------------------

func coreDet(t testing.TB) cbor.EncMode {
	t.Helper()
	opts := cbor.CoreDetEncOptions()
	// fxamacker encodes nil slices as null by default; ours are empty.
	opts.NilContainers = cbor.NilContainerAsEmpty
	em, err := opts.EncMode()
	if err != nil {
		t.Fatal(err)
	}
	return em
}

// tuple is one of each supported kind, encoded as a CBOR array.
type tuple struct {
	_ struct{} `cbor:",toarray"`
	U uint64
	I int64
	B []byte
	S string
	T bool
}

func (x tuple) encode(e *codec.Encoder) {
	e.Array(5)
	e.Uint(x.U)
	e.Int(x.I)
	e.Bytes(x.B)
	e.String(x.S)
	e.Bool(x.T)
}

// randUint picks values near every head-size boundary more often than a
// uniform draw would.
func randUint(r *rand.Rand) uint64 {
	switch r.IntN(4) {
	case 0:
		return r.Uint64()
	case 1:
		return r.Uint64N(300)
	default:
		bits := r.IntN(65)
		if bits == 64 {
			return r.Uint64()
		}
		v := uint64(1) << bits
		return v + uint64(r.IntN(5)) - 2 // around a power of two
	}
}

func randInt(r *rand.Rand) int64 {
	v := int64(randUint(r))
	switch r.IntN(8) {
	case 0:
		return math.MinInt64
	case 1:
		return math.MaxInt64
	}
	return v
}

func randBytes(r *rand.Rand) []byte {
	n := r.IntN(40)
	if r.IntN(20) == 0 {
		n = 200 + r.IntN(70000) // cross the 1- and 2-byte length heads
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randText(r *rand.Rand) string {
	n := r.IntN(30)
	if r.IntN(20) == 0 {
		n = 100 + r.IntN(20000)
	}
	var sb strings.Builder
	for range n {
		switch r.IntN(4) {
		case 0:
			sb.WriteRune(rune(0x80 + r.IntN(0x800-0x80)))
		case 1:
			sb.WriteRune(rune(0x10000 + r.IntN(0x10ffff-0x10000)))
		default:
			sb.WriteByte(byte(r.IntN(0x80)))
		}
	}
	return sb.String()
}

func randTuple(r *rand.Rand) tuple {
	return tuple{U: randUint(r), I: randInt(r), B: randBytes(r), S: randText(r), T: r.IntN(2) == 1}
}

func TestCrossCheckFxamacker(t *testing.T) {
	em := coreDet(t)
	r := rand.New(rand.NewPCG(1, 2))

	// check encodes v with fxamacker, compares with ours and decodes ours
	// with fxamacker into out, returning it.
	check := func(what string, v any, ours []byte) {
		t.Helper()
		theirs, err := em.Marshal(v)
		if err != nil {
			t.Fatalf("%s: fxamacker: %v", what, err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("%s: ours % x\n theirs % x", what, trunc(ours), trunc(theirs))
		}
	}

	for i := range 2000 {
		u := randUint(r)
		ours := encode(func(e *codec.Encoder) { e.Uint(u) })
		check("uint", u, ours)
		var gotU uint64
		if err := cbor.Unmarshal(ours, &gotU); err != nil || gotU != u {
			t.Fatalf("uint %d: fxamacker decoded %d, %v", u, gotU, err)
		}

		n := randInt(r)
		ours = encode(func(e *codec.Encoder) { e.Int(n) })
		check("int", n, ours)
		var gotI int64
		if err := cbor.Unmarshal(ours, &gotI); err != nil || gotI != n {
			t.Fatalf("int %d: fxamacker decoded %d, %v", n, gotI, err)
		}

		b := randBytes(r)
		ours = encode(func(e *codec.Encoder) { e.Bytes(b) })
		check("bytes", b, ours)
		var gotB []byte
		if err := cbor.Unmarshal(ours, &gotB); err != nil || !bytes.Equal(gotB, b) {
			t.Fatalf("bytes % x: fxamacker decoded % x, %v", trunc(b), trunc(gotB), err)
		}

		s := randText(r)
		ours = encode(func(e *codec.Encoder) { e.String(s) })
		check("string", s, ours)
		var gotS string
		if err := cbor.Unmarshal(ours, &gotS); err != nil || gotS != s {
			t.Fatalf("string %q: fxamacker decoded %q, %v", s, gotS, err)
		}

		bl := i%2 == 0
		ours = encode(func(e *codec.Encoder) { e.Bool(bl) })
		check("bool", bl, ours)
		var gotBl bool
		if err := cbor.Unmarshal(ours, &gotBl); err != nil || gotBl != bl {
			t.Fatalf("bool %v: fxamacker decoded %v, %v", bl, gotBl, err)
		}
	}

	for range 300 {
		tuples := make([]tuple, r.IntN(30))
		if r.IntN(10) == 0 {
			tuples = make([]tuple, 24+r.IntN(300)) // multi-byte array heads
		}
		for i := range tuples {
			tuples[i] = randTuple(r)
		}
		ours := encode(func(e *codec.Encoder) {
			e.Array(len(tuples))
			for _, x := range tuples {
				x.encode(e)
			}
		})
		check("array of tuples", tuples, ours)

		var got []tuple
		if err := cbor.Unmarshal(ours, &got); err != nil {
			t.Fatalf("fxamacker rejects our array of %d tuples: %v", len(tuples), err)
		}
		if len(got) != len(tuples) {
			t.Fatalf("fxamacker decoded %d tuples, want %d", len(got), len(tuples))
		}
		for i := range got {
			g, w := got[i], tuples[i]
			if g.U != w.U || g.I != w.I || !bytes.Equal(g.B, w.B) || g.S != w.S || g.T != w.T {
				t.Fatalf("tuple %d: fxamacker decoded %+v, want %+v", i, g, w)
			}
		}

		// And our decoder reads fxamacker's encoding back.
		d := codec.NewDecoder(ours)
		n := d.Array()
		for i := 0; i < n; i++ {
			d.ArrayLen(5)
			x := tuple{U: d.Uint(), I: d.Int(), B: d.Bytes(math.MaxInt), S: d.String(math.MaxInt), T: d.Bool()}
			if w := tuples[i]; x.U != w.U || x.I != w.I || !bytes.Equal(x.B, w.B) || x.S != w.S || x.T != w.T {
				t.Fatalf("tuple %d: we decoded %+v, want %+v", i, x, w)
			}
		}
		if err := d.Finish(); err != nil {
			t.Fatalf("our decoder: %v", err)
		}
	}

	// Heterogeneous and nested arrays.
	for range 300 {
		var items []any
		ours := encode(func(e *codec.Encoder) {
			n := r.IntN(10)
			e.Array(n)
			for range n {
				switch r.IntN(6) {
				case 0:
					v := randUint(r)
					e.Uint(v)
					items = append(items, v)
				case 1:
					v := randInt(r)
					e.Int(v)
					items = append(items, v)
				case 2:
					v := randBytes(r)
					e.Bytes(v)
					items = append(items, v)
				case 3:
					v := randText(r)
					e.String(v)
					items = append(items, v)
				case 4:
					v := r.IntN(2) == 0
					e.Bool(v)
					items = append(items, v)
				case 5:
					var inner []any
					m := r.IntN(4)
					e.Array(m)
					for range m {
						v := randInt(r)
						e.Int(v)
						inner = append(inner, v)
					}
					items = append(items, inner)
				}
			}
		})
		if items == nil {
			items = []any{}
		}
		check("mixed array", items, ours)
		var d any
		if err := cbor.Unmarshal(ours, &d); err != nil {
			t.Fatalf("fxamacker rejects our mixed array % x: %v", trunc(ours), err)
		}
	}
}

func trunc(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// --- Decoder: values --------------------------------------------------------

func TestDecoderHeadBoundaries(t *testing.T) {
	for _, c := range headCases {
		b := h(t, c.head)
		d := codec.NewDecoder(b)
		if got := d.Uint(); got != c.v || d.Finish() != nil {
			t.Errorf("Uint(% x) = %d, %v; want %d", b, got, d.Err(), c.v)
		}
		if c.v <= math.MaxInt64 {
			d.Reset(b)
			if got := d.Int(); got != int64(c.v) || d.Finish() != nil {
				t.Errorf("Int(% x) = %d, %v; want %d", b, got, d.Err(), c.v)
			}
			nb := withMajor(t, c.head, 1)
			d.Reset(nb)
			if got := d.Int(); got != -1-int64(c.v) || d.Finish() != nil {
				t.Errorf("Int(% x) = %d, %v; want %d", nb, got, d.Err(), -1-int64(c.v))
			}
		}
	}
	d := codec.NewDecoder(h(t, "3b 7fffffffffffffff"))
	if got := d.Int(); got != math.MinInt64 || d.Finish() != nil {
		t.Errorf("Int(MinInt64) = %d, %v", got, d.Err())
	}
	d = codec.NewDecoder([]byte{0xf4, 0xf5})
	if a, b := d.Bool(), d.Bool(); a || !b || d.Finish() != nil {
		t.Errorf("Bool, Bool = %v, %v, %v; want false, true", a, b, d.Err())
	}
}

func TestDecoderStrings(t *testing.T) {
	in := encode(func(e *codec.Encoder) {
		e.Array(6)
		e.Bytes([]byte("raw"))
		e.Bytes(nil)
		e.String("text é")
		e.String("bad \xff")
		e.String("")
		e.Bytes([]byte{1, 2})
	})
	d := codec.NewDecoder(in)
	if n := d.Array(); n != 6 {
		t.Fatalf("Array = %d", n)
	}
	if got := d.Bytes(10); string(got) != "raw" {
		t.Errorf("Bytes = %q", got)
	}
	if got := d.Bytes(10); got != nil {
		t.Errorf("empty Bytes = %#v, want nil", got)
	}
	if got := d.String(10); got != "text é" {
		t.Errorf("String = %q", got)
	}
	if got := d.String(10); got != "bad \xff" {
		t.Errorf("String(byte string) = %q", got)
	}
	if got := d.String(0); got != "" {
		t.Errorf("String(empty) = %q", got)
	}
	off := d.Offset()
	view := d.BytesView(2)
	if !bytes.Equal(view, []byte{1, 2}) || &view[0] != &in[off+1] {
		t.Errorf("BytesView = % x, or it does not alias the input", view)
	}
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
	if d.Remaining() != 0 || d.Offset() != len(in) {
		t.Errorf("Remaining = %d, Offset = %d", d.Remaining(), d.Offset())
	}

	// Bytes copies.
	d.Reset(h(t, "43 010203"))
	b := d.Bytes(3)
	b[0] = 9
	d.Reset(h(t, "43 010203"))
	if got := d.BytesView(3); got[0] != 1 {
		t.Error("Bytes aliases its input")
	}
}

// --- Decoder: rejections ----------------------------------------------------

// wantErr checks that err is a *codec.Error at offset whose text contains
// every fragment.
func wantErr(t *testing.T, err error, offset int, fragments ...string) {
	t.Helper()
	var ce *codec.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *codec.Error", err, err)
	}
	if ce.Offset != offset {
		t.Errorf("error %q at offset %d, want %d", ce, ce.Offset, offset)
	}
	for _, f := range fragments {
		if !strings.Contains(ce.Error(), f) {
			t.Errorf("error %q does not mention %q", ce, f)
		}
	}
}

func TestDecoderRejects(t *testing.T) {
	// Each case reads with read after a valid one-byte prefix item (0x00),
	// so a correct offset is never accidentally zero.
	cases := []struct {
		name  string
		input string
		read  func(d *codec.Decoder)
		off   int
		what  string
	}{
		{"empty", "", func(d *codec.Decoder) { d.Uint() }, 1, "unexpected end"},
		{"truncated argument", "19 01", func(d *codec.Decoder) { d.Uint() }, 1, "unexpected end"},
		{"truncated uint64", "1b 00000000000000", func(d *codec.Decoder) { d.Uint() }, 1, "unexpected end"},

		{"non-canonical 1-byte", "18 05", func(d *codec.Decoder) { d.Uint() }, 1, "non-canonical"},
		{"non-canonical 1-byte 23", "18 17", func(d *codec.Decoder) { d.Uint() }, 1, "non-canonical"},
		{"non-canonical 2-byte", "19 00ff", func(d *codec.Decoder) { d.Uint() }, 1, "non-canonical"},
		{"non-canonical 4-byte", "1a 0000ffff", func(d *codec.Decoder) { d.Uint() }, 1, "non-canonical"},
		{"non-canonical 8-byte", "1b 00000000ffffffff", func(d *codec.Decoder) { d.Uint() }, 1, "non-canonical"},
		{"non-canonical negative", "38 00", func(d *codec.Decoder) { d.Int() }, 1, "non-canonical"},
		{"non-canonical array head", "98 01 00", func(d *codec.Decoder) { d.Array() }, 1, "non-canonical"},
		{"non-canonical string length", "58 01 00", func(d *codec.Decoder) { d.Bytes(10) }, 1, "non-canonical"},
		{"non-canonical text length", "79 0001 61", func(d *codec.Decoder) { d.String(10) }, 1, "non-canonical"},
		{"non-canonical false", "f8 14", func(d *codec.Decoder) { d.Bool() }, 1, "non-canonical"},
		{"non-canonical true", "f8 15", func(d *codec.Decoder) { d.Bool() }, 1, "non-canonical"},
		{"half-float false", "f9 0014", func(d *codec.Decoder) { d.Bool() }, 1, "non-canonical"},
		{"skip non-canonical simple", "f8 14", func(d *codec.Decoder) { d.Skip(1) }, 1, "non-canonical"},

		{"indefinite bytes", "5f 41 00 ff", func(d *codec.Decoder) { d.Bytes(10) }, 1, "additional info 31"},
		{"indefinite text", "7f ff", func(d *codec.Decoder) { d.String(10) }, 1, "additional info 31"},
		{"indefinite array", "9f ff", func(d *codec.Decoder) { d.Array() }, 1, "additional info 31"},
		{"indefinite array skip", "9f ff", func(d *codec.Decoder) { d.Skip(4) }, 1, "additional info 31"},
		{"break", "ff", func(d *codec.Decoder) { d.Skip(4) }, 1, "additional info 31"},
		{"reserved 28", "1c", func(d *codec.Decoder) { d.Uint() }, 1, "additional info 28"},
		{"reserved 29", "3d", func(d *codec.Decoder) { d.Int() }, 1, "additional info 29"},
		{"reserved 30", "9e", func(d *codec.Decoder) { d.Array() }, 1, "additional info 30"},

		{"uint got negative", "20", func(d *codec.Decoder) { d.Uint() }, 1, "major type 1"},
		{"uint got bytes", "40", func(d *codec.Decoder) { d.Uint() }, 1, "major type 2"},
		{"array got text", "60", func(d *codec.Decoder) { d.Array() }, 1, "major type 3"},
		{"bytes got text", "61 61", func(d *codec.Decoder) { d.Bytes(10) }, 1, "major type 3"},
		{"bytes view got array", "80", func(d *codec.Decoder) { d.BytesView(10) }, 1, "major type 4"},
		{"string got uint", "01", func(d *codec.Decoder) { d.String(10) }, 1, "major type 0"},
		{"int got map", "a0", func(d *codec.Decoder) { d.Int() }, 1, "signed 64-bit"},
		{"bool got uint", "01", func(d *codec.Decoder) { d.Bool() }, 1, "boolean"},
		{"bool got null", "f6", func(d *codec.Decoder) { d.Bool() }, 1, "boolean"},
		{"bool got simple 32", "f8 20", func(d *codec.Decoder) { d.Bool() }, 1, "boolean"},

		{"text invalid UTF-8", "62 61ff", func(d *codec.Decoder) { d.String(10) }, 1, "not valid UTF-8"},
		{"text surrogate", "63 eda080", func(d *codec.Decoder) { d.String(10) }, 1, "not valid UTF-8"},
		{"byte string of valid UTF-8", "42 6869", func(d *codec.Decoder) { d.String(10) }, 1, "byte string used for valid UTF-8"},
		{"empty byte string as string", "40", func(d *codec.Decoder) { d.String(10) }, 1, "byte string used for valid UTF-8"},

		{"string beyond input", "45 0102", func(d *codec.Decoder) { d.Bytes(10) }, 1, "string of 5 bytes exceeds the"},
		{"huge string", "5b ffffffffffffffff", func(d *codec.Decoder) { d.Bytes(math.MaxInt) }, 1, "exceeds"},
		{"array beyond input", "83 01 02", func(d *codec.Decoder) { d.Array() }, 1, "array of 3 items exceeds the"},
		{"huge array", "9b ffffffffffffffff", func(d *codec.Decoder) { d.Array() }, 1, "array of 18446744073709551615 items exceeds the"},

		{"ArrayLen", "82 01 02", func(d *codec.Decoder) { d.ArrayLen(3) }, 1, "array of 3 items, found 2"},
		{"ArrayMax", "83 01 02 03", func(d *codec.Decoder) { d.ArrayMax(2) }, 1, "exceeds the limit of 2"},
		{"UintMax", "18 ff", func(d *codec.Decoder) { d.UintMax(254) }, 1, "255 exceeds 254"},
		{"Bytes max", "43 010203", func(d *codec.Decoder) { d.Bytes(2) }, 1, "exceeds the limit of 2"},
		{"BytesView max", "43 010203", func(d *codec.Decoder) { d.BytesView(0) }, 1, "exceeds the limit of 0"},
		{"String max", "63 616263", func(d *codec.Decoder) { d.String(2) }, 1, "exceeds the limit of 2"},
		{"String max byte string", "43 ffffff", func(d *codec.Decoder) { d.String(2) }, 1, "exceeds the limit of 2"},

		{"Int 2^63", "1b 8000000000000000", func(d *codec.Decoder) { d.Int() }, 1, "signed 64-bit"},
		{"Int MaxUint64", "1b ffffffffffffffff", func(d *codec.Decoder) { d.Int() }, 1, "signed 64-bit"},
		{"Int -2^63-1", "3b 8000000000000000", func(d *codec.Decoder) { d.Int() }, 1, "signed 64-bit"},

		{"skip nesting", "81 81 81 01", func(d *codec.Decoder) { d.Skip(2) }, 3, "nesting too deep"},
		{"skip nesting 0", "80", func(d *codec.Decoder) { d.Skip(0) }, 1, "nesting too deep"},
		{"skip map", "a0", func(d *codec.Decoder) { d.Skip(1) }, 1, "major type 5"},
		{"skip tag", "c1 01", func(d *codec.Decoder) { d.Skip(1) }, 1, "major type 6"},
		{"skip null", "f6", func(d *codec.Decoder) { d.Skip(1) }, 1, "simple value 22"},
		{"skip float", "fa 3f800000", func(d *codec.Decoder) { d.Skip(1) }, 1, "simple value"},
		{"skip string beyond input", "62 61", func(d *codec.Decoder) { d.Skip(1) }, 1, "string exceeds"},
		{"skip array beyond input", "82 01", func(d *codec.Decoder) { d.Skip(1) }, 1, "array exceeds"},
		{"skip truncated in array", "82 01 19", func(d *codec.Decoder) { d.Skip(1) }, 3, "unexpected end"},
		{"skip bad item in array", "82 01 18 01", func(d *codec.Decoder) { d.Skip(1) }, 3, "non-canonical"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := append([]byte{0x00}, h(t, c.input)...)
			d := codec.NewDecoder(in)
			if d.Uint() != 0 || d.Err() != nil {
				t.Fatalf("prefix: %v", d.Err())
			}
			c.read(d)
			wantErr(t, d.Err(), c.off, c.what)
			if d.Offset() != c.off {
				t.Errorf("Offset after failure = %d, want %d", d.Offset(), c.off)
			}
			if !strings.HasPrefix(d.Err().Error(), "cbor: ") {
				t.Errorf("error %q lacks the cbor: prefix", d.Err())
			}
		})
	}
}

func TestDecoderFinish(t *testing.T) {
	d := codec.NewDecoder([]byte{0x01, 0x02})
	if d.Uint() != 1 {
		t.Fatal(d.Err())
	}
	err := d.Finish()
	wantErr(t, err, 1, "trailing bytes", "at byte 1")
	if d.Err() != err {
		t.Errorf("Err() = %v after Finish, want %v", d.Err(), err)
	}
	// Finish keeps an earlier error rather than reporting trailing bytes.
	d = codec.NewDecoder([]byte{0x18, 0x01, 0x00})
	d.Uint()
	first := d.Err()
	if err := d.Finish(); err != first {
		t.Errorf("Finish = %v, want the first error %v", err, first)
	}
	// Finish on an exactly consumed input is nil.
	d = codec.NewDecoder([]byte{0x80})
	d.Array()
	if err := d.Finish(); err != nil {
		t.Errorf("Finish = %v", err)
	}
}

func TestDecoderHugeArrayNoAlloc(t *testing.T) {
	in := h(t, "9b ffffffffffffffff")
	d := codec.NewDecoder(in)
	n := d.Array()
	if n != 0 || d.Err() == nil {
		t.Fatalf("Array = %d, %v; want 0 and an error", n, d.Err())
	}
	// A successful Array head must not allocate at all, whatever it claims;
	// a failing one allocates only its error (the message and the *Error).
	ok := h(t, "98 20")
	ok = append(ok, make([]byte, 32)...)
	if allocs := testing.AllocsPerRun(100, func() {
		d.Reset(ok)
		d.Array()
	}); allocs != 0 {
		t.Errorf("Array allocated %v times", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		d.Reset(in)
		d.Array()
	}); allocs > 4 {
		t.Errorf("failing Array allocated %v times", allocs)
	}
	for _, huge := range []string{"9b ffffffffffffffff", "9b 7fffffffffffffff", "9a ffffffff"} {
		d.Reset(h(t, huge))
		if d.ArrayMax(math.MaxInt) != 0 || d.Err() == nil {
			t.Errorf("ArrayMax accepted %s", huge)
		}
		d.Reset(h(t, huge))
		d.Skip(4)
		if d.Err() == nil {
			t.Errorf("Skip accepted %s", huge)
		}
	}
}

func TestDecoderSticky(t *testing.T) {
	in := h(t, "18 05 01 f5 43 010203 63 616263 81 01")
	d := codec.NewDecoder(in)
	d.Uint()
	first := d.Err()
	if first == nil {
		t.Fatal("no error for a non-canonical head")
	}
	off := d.Offset()
	if v := d.Uint(); v != 0 {
		t.Errorf("Uint after failure = %d", v)
	}
	if v := d.UintMax(10); v != 0 {
		t.Errorf("UintMax after failure = %d", v)
	}
	if v := d.Int(); v != 0 {
		t.Errorf("Int after failure = %d", v)
	}
	if v := d.Bool(); v {
		t.Error("Bool after failure = true")
	}
	if v := d.Bytes(10); v != nil {
		t.Errorf("Bytes after failure = %v", v)
	}
	if v := d.BytesView(10); v != nil {
		t.Errorf("BytesView after failure = %v", v)
	}
	if v := d.String(10); v != "" {
		t.Errorf("String after failure = %q", v)
	}
	if v := d.Array(); v != 0 {
		t.Errorf("Array after failure = %d", v)
	}
	if d.ArrayLen(0) {
		t.Error("ArrayLen after failure = true")
	}
	if v := d.ArrayMax(10); v != 0 {
		t.Errorf("ArrayMax after failure = %d", v)
	}
	d.Skip(10)
	d.Fail("later %d", 1)
	d.FailAt(5, "later")
	if err := d.Finish(); err != first {
		t.Errorf("Finish = %v, want %v", err, first)
	}
	if d.Err() != first {
		t.Errorf("Err = %v, want the first error %v", d.Err(), first)
	}
	if d.Offset() != off {
		t.Errorf("Offset moved from %d to %d after the failure", off, d.Offset())
	}

	d.Reset([]byte{0x07})
	if d.Err() != nil || d.Uint() != 7 || d.Finish() != nil {
		t.Errorf("Reset did not clear the error: %v", d.Err())
	}
}

func TestDecoderFail(t *testing.T) {
	d := codec.NewDecoder([]byte{0x01, 0x02})
	d.Uint()
	d.Fail("bad value %d", 7)
	wantErr(t, d.Err(), 1, "bad value 7")
	d = codec.NewDecoder([]byte{0x01, 0x02})
	d.Uint()
	d.Uint()
	d.FailAt(1, "bad %s", "thing")
	wantErr(t, d.Err(), 1, "bad thing")
}

func TestDecoderSkip(t *testing.T) {
	in := encode(func(e *codec.Encoder) {
		e.Array(3)
		e.Array(2)
		e.Int(math.MinInt64)
		e.Bytes(make([]byte, 300))
		e.String("x\xff")
		e.Array(1)
		e.Array(0)
		e.Uint(math.MaxUint64) // a second item
		e.Bool(true)
	})
	d := codec.NewDecoder(in)
	d.Skip(3)
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	if d.Uint() != math.MaxUint64 || !d.Bool() || d.Finish() != nil {
		t.Errorf("after Skip: %v", d.Err())
	}
	// Negative integers beyond int64 and text strings are skipped without
	// interpretation.
	d.Reset(h(t, "82 3b ffffffffffffffff 61 61"))
	d.Skip(1)
	if err := d.Finish(); err != nil {
		t.Error(err)
	}
	d.Reset(in)
	d.Skip(2)
	wantErr(t, d.Err(), 1+1+9+3+300+3+1, "nesting too deep")
}

// --- Intern -----------------------------------------------------------------

func TestIntern(t *testing.T) {
	in := encode(func(e *codec.Encoder) {
		for _, s := range []string{"peer-a", "peer-b", "peer-a", "peer-c", "peer-c", "peer-b", "bad\xff", "bad\xff"} {
			e.String(s)
		}
	})
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

	// Without interning, every decode is a fresh copy.
	d := codec.NewDecoder(in)
	a1, _, a2 := d.String(64), d.String(64), d.String(64)
	if a1 != "peer-a" || a2 != "peer-a" || same(a1, a2) {
		t.Errorf("without Intern: %q %q shared=%v", a1, a2, same(a1, a2))
	}

	// With a large limit, equal strings share one copy, also across Reset.
	d = codec.NewDecoder(in)
	d.Intern(10)
	got := make([]string, 8)
	for i := range got {
		got[i] = d.String(64)
	}
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]int{{0, 2}, {1, 5}, {3, 4}, {6, 7}} {
		if got[p[0]] != got[p[1]] || !same(got[p[0]], got[p[1]]) {
			t.Errorf("interned %q and %q are not one copy", got[p[0]], got[p[1]])
		}
	}
	if &in[1] == unsafe.StringData(got[0]) {
		t.Error("interned string aliases the input")
	}
	d.Reset(in)
	if s := d.String(64); !same(s, got[0]) {
		t.Error("interning forgotten after Reset")
	}

	// With a limit of 2 only the first two distinct strings are kept.
	d = codec.NewDecoder(in)
	d.Intern(2)
	for i := range got {
		got[i] = d.String(64)
	}
	if !same(got[0], got[2]) || !same(got[1], got[5]) {
		t.Error("limit 2: the first two strings are not interned")
	}
	if got[3] != got[4] || same(got[3], got[4]) {
		t.Error("limit 2: a third string was interned")
	}
	if same(got[6], got[7]) {
		t.Error("limit 2: a fourth string was interned")
	}

	// Intern(0) interns nothing.
	d = codec.NewDecoder(in)
	d.Intern(0)
	a1, _, a2 = d.String(64), d.String(64), d.String(64)
	if same(a1, a2) {
		t.Error("limit 0: a string was interned")
	}
}

// --- decode(encode(x)) for random tuples ------------------------------------

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var e codec.Encoder
	d := codec.NewDecoder(nil)
	for range 2000 {
		x := randTuple(r)
		if r.IntN(3) == 0 {
			x.S = string(randBytes(r)) // usually invalid UTF-8
		}
		e.Reset()
		x.encode(&e)
		d.Reset(e.Encoded())
		d.ArrayLen(5)
		y := tuple{U: d.Uint(), I: d.Int(), B: d.Bytes(math.MaxInt), S: d.String(math.MaxInt), T: d.Bool()}
		if err := d.Finish(); err != nil {
			t.Fatalf("decode(encode(%+v)): %v", x, err)
		}
		if x.U != y.U || x.I != y.I || !bytes.Equal(x.B, y.B) || x.S != y.S || x.T != y.T {
			t.Fatalf("decode(encode(%+v)) = %+v", x, y)
		}
		major := e.Encoded()[1+len(encode(func(e *codec.Encoder) { e.Uint(x.U) }))+
			len(encode(func(e *codec.Encoder) { e.Int(x.I) }))+
			len(encode(func(e *codec.Encoder) { e.Bytes(x.B) }))] >> 5
		if wantText := utf8.ValidString(x.S); (major == 3) != wantText {
			t.Fatalf("String(%q) used major type %d", x.S, major)
		}
	}
}

// After an error a decoder reads nothing more: the one-byte heads that
// Array, ArrayMax, Uint and UintMax take on a short path included.
func TestNothingReadAfterAnError(t *testing.T) {
	data := []byte{0x83, 0x01, 0x02, 0x03, 0x05}
	d := codec.NewDecoder(data)
	if n := d.ArrayMax(2); n != 0 || d.Err() == nil {
		t.Fatalf("an array of 3 read with a limit of 2: %d, %v", n, d.Err())
	}
	at := d.Offset()
	if v, n, m, u := d.Uint(), d.Array(), d.ArrayMax(5), d.UintMax(9); v|uint64(n|m)|u != 0 || d.Offset() != at {
		t.Fatalf("after the error: read %d %d %d %d, offset %d → %d", v, n, m, u, at, d.Offset())
	}
	// And before one, the largest one-byte heads and the smallest longer
	// ones read the same either way.
	for _, c := range []struct {
		b    []byte
		want int
	}{{[]byte{0x17}, 23}, {[]byte{0x18, 0x18}, 24}, {[]byte{0x97}, 23}, {[]byte{0x98, 0x18}, 24}} {
		d := codec.NewDecoder(append(c.b, make([]byte, 30)...))
		got := int(d.UintMax(1 << 10))
		if c.b[0] >= 0x80 {
			d = codec.NewDecoder(append(c.b, make([]byte, 30)...))
			got = d.ArrayMax(1 << 10)
		}
		if got != c.want || d.Err() != nil {
			t.Errorf("% x: read %d (%v), want %d", c.b, got, d.Err(), c.want)
		}
	}
}
