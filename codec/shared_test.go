package codec

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestSharedRoundTrip: a stream that repeats strings writes each in full
// once (tag 28) and by number afterwards (tag 29), reads back the same
// strings, and is shorter than the stream of plain strings.
func TestSharedRoundTrip(t *testing.T) {
	peers := []string{"12D3KooWAlpha000000000000000000000000000000000000000", "12D3KooWBeta", "", "π-non-ascii", "\xff\xfe not UTF-8"}
	var seq []string
	for i := range 50 {
		seq = append(seq, peers[(i*7)%len(peers)])
	}
	var shared, plain Encoder
	shared.Share()
	for _, s := range seq {
		shared.Shared(s)
		plain.Shared(s) // without Share: String
	}
	var want Encoder
	for _, s := range seq {
		want.String(s)
	}
	if !bytes.Equal(plain.Encoded(), want.Encoded()) {
		t.Fatal("Shared without Share differs from String")
	}
	if len(shared.Encoded()) >= len(plain.Encoded())/2 {
		t.Fatalf("shared stream of %d bytes, plain %d: expected far shorter", len(shared.Encoded()), len(plain.Encoded()))
	}
	if got := bytes.Count(shared.Encoded(), []byte{0xd8, tagShareable}); got != len(peers) {
		t.Fatalf("%d shareable tags, want one per distinct string (%d)", got, len(peers))
	}
	d := NewDecoder(shared.Encoded())
	d.Share(nil)
	for i, s := range seq {
		if got := d.SharedString(1000); got != s || d.Err() != nil {
			t.Fatalf("item %d: %q (%v), want %q", i, got, d.Err(), s)
		}
	}
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
	if d.SharedLen() != len(peers) {
		t.Fatalf("table of %d, want %d", d.SharedLen(), len(peers))
	}
	// The plain stream reads the same through a sharing decoder.
	d = NewDecoder(plain.Encoded())
	d.Share(nil)
	for i, s := range seq {
		if got := d.SharedString(1000); got != s {
			t.Fatalf("plain item %d: %q, want %q", i, got, s)
		}
	}
}

// TestSharedLimits: the encoder enters no string over MaxSharedLen and no
// more than MaxShared, writing the rest in full; the decoder refuses a
// stream that would break either bound.
func TestSharedLimits(t *testing.T) {
	var e Encoder
	e.Share()
	long := strings.Repeat("x", MaxSharedLen+1)
	e.Shared(long)
	e.Shared(long)
	if bytes.Contains(e.Encoded(), []byte{0xd8, tagShareable}) || bytes.Contains(e.Encoded(), []byte{0xd8, tagSharedRef}) {
		t.Fatal("a string over MaxSharedLen was shared")
	}
	e.Reset()
	for i := range MaxShared + 10 {
		e.Shared(fmt.Sprint("peer-", i))
	}
	if len(e.shared) != MaxShared {
		t.Fatalf("table of %d, want %d", len(e.shared), MaxShared)
	}
	e.Shared("peer-5")        // in the table: a reference
	e.Shared("peer-4100")     // met after the table filled: in full again
	e.Shared("peer-not-seen") // new: in full
	d := NewDecoder(e.Encoded())
	d.Share(nil)
	for i := range MaxShared + 10 {
		if got := d.SharedString(100); got != fmt.Sprint("peer-", i) {
			t.Fatalf("item %d: %q (%v)", i, got, d.Err())
		}
	}
	for _, want := range []string{"peer-5", "peer-4100", "peer-not-seen"} {
		if got := d.SharedString(100); got != want {
			t.Fatalf("%q, want %q (%v)", got, want, d.Err())
		}
	}
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}

	tag := func(n byte, rest ...byte) []byte { return append([]byte{0xd8, n}, rest...) }
	full := make([]byte, 0)
	for i := range MaxShared {
		full = append(full, tag(tagShareable)...)
		s := fmt.Sprint("p", i)
		full = append(full, 0x60|byte(len(s)))
		full = append(full, s...)
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"reference to nothing", tag(tagSharedRef, 0), "reference to shared string 0 of 0"},
		{"reference past the table", append(tag(tagShareable, 0x61, 'a'), tag(tagSharedRef, 1)...), "reference to shared string 1 of 1"},
		{"reference without index", tag(tagSharedRef), "unexpected end of data"},
		{"reference by a string", tag(tagSharedRef, 0x61, 'a'), "expected"},
		{"another tag", tag(30, 0x61, 'a'), "tag 30 where a string belongs"},
		{"shareable over MaxSharedLen", append(tag(tagShareable, 0x78, MaxSharedLen+1), bytes.Repeat([]byte{'a'}, MaxSharedLen+1)...), "exceeds"},
		{"shareable past MaxShared", append(bytes.Clone(full), tag(tagShareable, 0x61, 'a')...), "beyond the table's 4096"},
	}
	for _, c := range cases {
		d := NewDecoder(c.in)
		d.Share(nil)
		for d.Err() == nil && d.Remaining() > 0 {
			d.SharedString(1000)
		}
		if d.Err() == nil || !strings.Contains(d.Err().Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, d.Err(), c.want)
		}
	}
	// Without Share a tag is no string at all.
	d = NewDecoder(tag(tagSharedRef, 0))
	if d.SharedString(10); d.Err() == nil {
		t.Error("a decoder that does not share accepted a reference")
	}
}

// TestSharedPrefixContinues: a decoder started from SharedPrefix at some
// point of a stream reads the rest of it as the first decoder does, and
// entries added afterwards do not change a prefix handed out.
func TestSharedPrefixContinues(t *testing.T) {
	var e Encoder
	e.Share()
	var marks []int
	for i := range 40 {
		marks = append(marks, e.Len())
		e.Shared(fmt.Sprint("peer-", i%13, "-", i/20))
	}
	b := e.Encoded()
	d := NewDecoder(b)
	d.Share(nil)
	var prefixes [][]string
	var want []string
	for range 40 {
		prefixes = append(prefixes, d.SharedPrefix(d.SharedLen()))
		want = append(want, d.SharedString(100))
	}
	for i := range 40 {
		d2 := NewDecoder(b[marks[i]:])
		d2.Share(prefixes[i])
		for j := i; j < 40; j++ {
			if got := d2.SharedString(100); got != want[j] {
				t.Fatalf("from item %d, item %d: %q (%v), want %q", i, j, got, d2.Err(), want[j])
			}
		}
	}
	if len(prefixes[5]) != 5 || len(prefixes[39]) != 26 {
		t.Fatalf("prefix lengths %d and %d, want 5 and 26", len(prefixes[5]), len(prefixes[39]))
	}
}
