package codec_test

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/p2pcore/p2pcore/codec"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files under testdata/fuzz")

// fuzzDepth is the nesting the fuzz targets accept.
const fuzzDepth = 16

// item is one decoded value of any supported kind.
type item struct {
	kind  byte // what was read: 'u' Uint, 'i' Int, 'b' Bytes, 's' String, 't' Bool, 'a' Array
	u     uint64
	i     int64
	b     []byte
	s     string
	t     bool
	items []item
}

// decodeItem reads one item, choosing the Decoder method by peeking at the
// major type. Byte strings are read with Bytes or String alternately (by
// position), so both the byte-string path of String and Bytes are covered.
func decodeItem(d *codec.Decoder, data []byte, depth, pos int) item {
	if d.Err() != nil {
		return item{}
	}
	if d.Offset() >= len(data) {
		d.Uint() // fails: unexpected end
		return item{}
	}
	switch data[d.Offset()] >> 5 {
	case 0:
		return item{kind: 'u', u: d.Uint()}
	case 1:
		return item{kind: 'i', i: d.Int()}
	case 2:
		if pos%2 == 0 {
			return item{kind: 'b', b: d.Bytes(math.MaxInt)}
		}
		return item{kind: 's', s: d.String(math.MaxInt)}
	case 3:
		return item{kind: 's', s: d.String(math.MaxInt)}
	case 4:
		off := d.Offset()
		n := d.Array()
		if d.Err() != nil {
			return item{}
		}
		if depth <= 0 {
			d.FailAt(off, "nesting too deep")
			return item{}
		}
		it := item{kind: 'a', items: make([]item, 0, n)}
		for k := 0; k < n && d.Err() == nil; k++ {
			it.items = append(it.items, decodeItem(d, data, depth-1, k))
		}
		return it
	case 7:
		return item{kind: 't', t: d.Bool()}
	default:
		d.Uint() // maps and tags are not supported: fails
		return item{}
	}
}

func encodeItem(e *codec.Encoder, it item) {
	switch it.kind {
	case 'u':
		e.Uint(it.u)
	case 'i':
		e.Int(it.i)
	case 'b':
		e.Bytes(it.b)
	case 's':
		e.String(it.s)
	case 't':
		e.Bool(it.t)
	case 'a':
		e.Array(len(it.items))
		for _, c := range it.items {
			encodeItem(e, c)
		}
	default:
		panic("unknown kind")
	}
}

// decodeTuples reads the fixed schema [* [uint, int, bytes, string, bool]].
func decodeTuples(data []byte) ([]tuple, error) {
	d := codec.NewDecoder(data)
	n := d.ArrayMax(1 << 16)
	out := make([]tuple, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.ArrayLen(5)
		out = append(out, tuple{U: d.Uint(), I: d.Int(), B: d.Bytes(1 << 16), S: d.String(1 << 16), T: d.Bool()})
	}
	return out, d.Finish()
}

func codecSeeds() []seed {
	tuples := encode(func(e *codec.Encoder) {
		e.Array(3)
		tuple{U: 0, I: -1, B: nil, S: "", T: false}.encode(e)
		tuple{U: 24, I: math.MinInt64, B: []byte{0, 0xff}, S: "é€", T: true}.encode(e)
		tuple{U: math.MaxUint64, I: math.MaxInt64, B: bytes.Repeat([]byte{7}, 300), S: "bin\xff", T: true}.encode(e)
	})
	nested := encode(func(e *codec.Encoder) {
		e.Array(4)
		e.Array(2)
		e.Array(0)
		e.Array(1)
		e.Uint(65536)
		e.Int(-257)
		e.String("text")
		e.Bytes([]byte("bytes"))
	})
	scalars := encode(func(e *codec.Encoder) {
		e.Array(10)
		e.Uint(23)
		e.Uint(255)
		e.Uint(256)
		e.Uint(math.MaxUint32)
		e.Uint(math.MaxUint32 + 1)
		e.Int(-24)
		e.Int(-25)
		e.Bool(true)
		e.Bool(false)
		e.String("\x80")
	})
	deep := bytes.Repeat([]byte{0x81}, fuzzDepth)
	deep = append(deep, 0x00)
	return []seed{
		{"empty", nil},
		{"uint", []byte{0x00}},
		{"empty-array", []byte{0x80}},
		{"tuples", tuples},
		{"nested", nested},
		{"scalars", scalars},
		{"deep", deep},
		{"too-deep", append([]byte{0x81}, deep...)},
		{"non-canonical", []byte{0x81, 0x18, 0x05}},
		{"indefinite", []byte{0x9f, 0x01, 0xff}},
		{"reserved-info", []byte{0x81, 0x1c}},
		{"invalid-utf8-text", []byte{0x81, 0x61, 0xff}},
		{"utf8-byte-string", []byte{0x82, 0x40, 0x41, 0x61}},
		{"huge-array", []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"trailing", []byte{0x80, 0x00}},
		{"map", []byte{0xa1, 0x01, 0x02}},
		{"null", []byte{0x81, 0xf6}},
		{"simple-32", []byte{0x81, 0xf8, 0x20}},
		{"float16", []byte{0x81, 0xf9, 0x3c, 0x00}},
		{"non-canonical-false", []byte{0x81, 0xf8, 0x14}}, // once accepted, see e485a079130adb24
	}
}

func FuzzDecodeRoundTrip(f *testing.F) {
	for _, s := range codecSeeds() {
		f.Add(s.data)
	}
	em := coreDet(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Generic decoding by peeking at the major types.
		d := codec.NewDecoder(data)
		it := decodeItem(d, data, fuzzDepth, 0)
		err := d.Finish()
		checkErr(t, err, len(data))
		if err == nil {
			var e codec.Encoder
			encodeItem(&e, it)
			if !bytes.Equal(e.Encoded(), data) {
				t.Fatalf("decoded and re-encoded\n % x\nto\n % x", data, e.Encoded())
			}
			// Skip agrees on where the item ends.
			d := codec.NewDecoder(data)
			d.Skip(fuzzDepth)
			if err := d.Finish(); err != nil {
				t.Fatalf("Skip rejects what decodes: %v", err)
			}
			// Another implementation reads it and, in core deterministic
			// mode, writes the same bytes.
			var v any
			if err := cbor.Unmarshal(data, &v); err != nil {
				t.Fatalf("fxamacker rejects % x: %v", data, err)
			}
			if again, err := em.Marshal(v); err != nil || !bytes.Equal(again, data) {
				t.Fatalf("fxamacker re-encodes % x as % x (%v)", data, again, err)
			}
		}

		// The fixed tuple schema.
		tuples, err := decodeTuples(data)
		checkErr(t, err, len(data))
		if err == nil {
			var e codec.Encoder
			e.Array(len(tuples))
			for _, x := range tuples {
				x.encode(&e)
			}
			if !bytes.Equal(e.Encoded(), data) {
				t.Fatalf("tuples decoded and re-encoded\n % x\nto\n % x", data, e.Encoded())
			}
		}
	})
}

func FuzzSkip(f *testing.F) {
	for _, s := range codecSeeds() {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A full-capacity slice makes any read past the end panic.
		data = data[:len(data):len(data)]
		d := codec.NewDecoder(data)
		d.Skip(fuzzDepth)
		end := d.Offset()
		if end < 0 || end > len(data) || d.Remaining() != len(data)-end {
			t.Fatalf("Offset %d, Remaining %d for %d bytes", end, d.Remaining(), len(data))
		}
		if err := d.Err(); err != nil {
			checkErr(t, err, len(data))
			return
		}
		if end == 0 {
			t.Fatal("Skip succeeded without reading anything")
		}
		// The item is self-delimiting: it skips alone, and no shorter prefix
		// holds a whole item.
		d = codec.NewDecoder(data[:end:end])
		d.Skip(fuzzDepth)
		if err := d.Finish(); err != nil {
			t.Fatalf("Skip of the %d-byte item alone: %v", end, err)
		}
		d = codec.NewDecoder(data[: end-1 : end-1])
		d.Skip(fuzzDepth)
		if d.Err() == nil {
			t.Fatalf("Skip accepts the item less its last byte")
		}
	})
}

// checkErr verifies that a failure is a *codec.Error inside the input.
func checkErr(t *testing.T, err error, n int) {
	t.Helper()
	if err == nil {
		return
	}
	var ce *codec.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is a %T, not a *codec.Error", err, err)
	}
	if ce.Offset < 0 || ce.Offset > n {
		t.Fatalf("error %q at offset %d of %d bytes", ce, ce.Offset, n)
	}
}

// --- seed corpus files ------------------------------------------------------

type seed struct {
	name string
	data []byte
}

// corpusFile is the content of a seed file in Go's fuzz corpus format.
func corpusFile(data []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// checkCorpus makes sure testdata/fuzz/<target> holds every seed, so a plain
// go test runs them as well; with -update-corpus it writes them.
func checkCorpus(t *testing.T, target string, seeds []seed) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range seeds {
		path := filepath.Join(dir, "seed-"+s.name)
		want := corpusFile(s.data)
		if *updateCorpus {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is missing or stale (run go test -run TestSeedCorpus -update-corpus): %v", path, err)
		}
	}
}

func TestSeedCorpus(t *testing.T) {
	checkCorpus(t, "FuzzDecodeRoundTrip", codecSeeds())
	checkCorpus(t, "FuzzSkip", codecSeeds())
}
