package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"unsafe"
)

// TestStateHasOnlyHashableTypes walks the State type and fails on anything
// the canonical encoding of hash.go cannot encode the same way on every
// platform and run: floats and complex numbers, interfaces, channels,
// functions, unsafe pointers and uintptrs, and map keys other than strings
// and integers (the only keys the encoding can order).
func TestStateHasOnlyHashableTypes(t *testing.T) {
	t.Parallel()
	for _, p := range unhashable(reflect.TypeFor[State]()) {
		t.Error(p)
	}
}

// TestUnhashableFindsEachKind checks that the walk of
// TestStateHasOnlyHashableTypes finds what it looks for wherever it is
// nested, so that it cannot pass for want of looking.
func TestUnhashableFindsEachKind(t *testing.T) {
	t.Parallel()
	type key struct{ A, B int }
	type inner struct {
		Rate float64
	}
	type node struct {
		Next *node // recursion ends
		Ok   int
	}
	type bad struct {
		F32      float32
		C        complex128
		Any      any
		Err      error
		Ch       chan int
		Fn       func()
		P        unsafe.Pointer
		U        uintptr
		ByStruct map[key]int
		ByBool   map[bool]int
		ByFloat  map[float64]int
		Deep     map[string][]*[2]inner
		Tree     *node
		hidden   float64
	}
	got := unhashable(reflect.TypeFor[bad]())
	want := []string{
		"bad.F32 is float32",
		"bad.C is complex128",
		"bad.Any is interface {}",
		"bad.Err is error",
		"bad.Ch is chan int",
		"bad.Fn is func()",
		"bad.P is unsafe.Pointer",
		"bad.U is uintptr",
		"bad.ByStruct has map keys of type state.key",
		"bad.ByBool has map keys of type bool",
		"bad.ByFloat has map keys of type float64",
		"bad.ByFloat[key] is float64",
		"bad.Deep[*][*][*].Rate is float64",
		"bad.hidden is float64",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("unexpected %q", g)
		}
	}

	type good struct {
		S      string
		B      []byte
		I      map[int8]uint64
		U      map[uint16]map[PeerID]*node
		A      [4]Addr
		Nested struct{ Ok bool }
	}
	if got := unhashable(reflect.TypeFor[good]()); len(got) > 0 {
		t.Errorf("a hashable type reported: %v", got)
	}
}

// unhashable lists, by path from t, the parts of type t that the canonical
// encoding cannot hash deterministically.
func unhashable(t reflect.Type) []string {
	var out []string
	seen := make(map[reflect.Type]bool)
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		switch t.Kind() {
		case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128,
			reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Uintptr:
			out = append(out, path+" is "+t.String())
			return
		}
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer:
			walk(t.Elem(), path)
		case reflect.Slice, reflect.Array:
			walk(t.Elem(), path+"[*]")
		case reflect.Map:
			switch t.Key().Kind() {
			case reflect.String,
				reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			default:
				out = append(out, path+" has map keys of type "+t.Key().String())
				walk(t.Key(), path+"[key]")
			}
			walk(t.Elem(), path+"[*]")
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		}
	}
	walk(t, t.Name())
	return out
}

// TestRanksAreKeyOrder checks the orders the generated encoder writes map
// entries in against SortedKeys, on keys that share long prefixes, are
// prefixes of one another, hold zero bytes, or differ only past 8 bytes
// of the shared prefix.
func TestRanksAreKeyOrder(t *testing.T) {
	t.Parallel()
	strs := []map[string]int{
		{"": 1},
		{"": 1, "\x00": 2, "\x00\x00": 3, "a": 4, "a\x00": 5, "a\x00b": 6, "ab": 7, "b": 8},
		{"12D3KooWa": 1, "12D3KooW": 2, "12D3KooWaaaaaaaaaaaaaaaaaaaaaaaa1": 3, "12D3KooWaaaaaaaaaaaaaaaaaaaaaaaa0": 4,
			"12D3KooWaaaaaaaaX": 5, "12D3KooWaaaaaaaa\x00": 6, "12D3KooWaaaaaaaa": 7, "12D3KooW\xff": 8},
		{"x\xff\xff\xff\xff\xff\xff\xff\xff": 1, "x\xff\xff\xff\xff\xff\xff\xff": 2, "x\xff": 3, "x": 4, "y": 5},
	}
	for i := 0; i < 50; i++ {
		m := make(map[string]int)
		for j := 0; j < 1+i*3; j++ {
			k := []byte("/ip4/10.0.")
			for n := j % 13; n > 0; n-- {
				k = append(k, "0a\x00\xff"[(i*7+j*n)%4])
			}
			m[string(k)] = j
		}
		strs = append(strs, m)
	}
	// Enough keys that the index takes 9 bits, differing in the last of
	// the 8 bytes compared as an integer: many keys agree in the bits kept.
	many := make(map[string]int)
	for i := 0; i < 300; i++ {
		many[fmt.Sprintf("%08d", i*7919%100000)] = i
		many[fmt.Sprintf("%07d", i*7919%100000)] = i
	}
	strs = append(strs, many)
	for _, m := range strs {
		es, order := byString(m)
		var got []string
		for _, i := range order {
			got = append(got, es[i].key)
		}
		if want := SortedKeys(m); !slices.Equal(got, want) {
			t.Errorf("byString: %q, want %q", got, want)
		}
	}

	signed := map[int8]int{-128: 1, -1: 2, 0: 3, 1: 4, 127: 5, -5: 6}
	es, order := bySigned(signed)
	var gotS []int8
	for _, i := range order {
		gotS = append(gotS, es[i].key)
	}
	if want := SortedKeys(signed); !slices.Equal(gotS, want) {
		t.Errorf("bySigned: %v, want %v", gotS, want)
	}
	unsigned := map[uint64]int{0: 1, 1 << 63: 2, 1<<64 - 1: 3, 7: 4, 1<<63 - 1: 5}
	eu, orderU := byUnsigned(unsigned)
	var gotU []uint64
	for _, i := range orderU {
		gotU = append(gotU, eu[i].key)
	}
	if want := SortedKeys(unsigned); !slices.Equal(gotU, want) {
		t.Errorf("byUnsigned: %v, want %v", gotU, want)
	}
}

// TestTypeFingerprintSeesChanges checks that what the generated encoder
// depends on changes the fingerprint that decides whether it is used.
func TestTypeFingerprintSeesChanges(t *testing.T) {
	t.Parallel()
	type inner struct{ A int }
	type innerWide struct{ A int64 }
	type base struct {
		X int
		Y []inner
		M map[string]*inner
	}
	variants := []reflect.Type{
		reflect.TypeFor[base](),
		reflect.TypeFor[struct {
			X int
			Y []inner
			M map[string]*inner
			Z bool
		}](),
		reflect.TypeFor[struct {
			Y []inner
			X int
			M map[string]*inner
		}](),
		reflect.TypeFor[struct {
			X int
			Y []innerWide
			M map[string]*inner
		}](),
		reflect.TypeFor[struct {
			X int
			Y []inner
			M map[string]inner
		}](),
		reflect.TypeFor[struct {
			X2 int
			Y  []inner
			M  map[string]*inner
		}](),
		reflect.TypeFor[struct {
			X int
			Y [2]inner
			M map[string]*inner
		}](),
	}
	seen := make(map[string]int)
	for i, v := range variants {
		f := typeFingerprint(v)
		if j, ok := seen[f]; ok {
			t.Errorf("variants %d and %d have the same fingerprint", j, i)
		}
		seen[f] = i
	}
	if typeFingerprint(reflect.TypeFor[base]()) != typeFingerprint(reflect.TypeFor[base]()) {
		t.Error("the fingerprint of a type changes from one call to the next")
	}
}

// TestVarints compares the encoder's varints with encoding/binary's on
// every length: the boundaries, and random values of each bit length.
func TestVarints(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	var us []uint64
	for n := 0; n <= 64; n++ {
		lo := uint64(1) << n >> 1 // the smallest value of bit length n
		us = append(us, lo, lo+1, lo<<1-1)
		for range 50 {
			us = append(us, lo|r.Uint64()&(lo-1))
		}
	}
	for _, u := range us {
		// Appended after a byte, to a slice with room to spare, and to one
		// without, to see that nothing is written past the varint.
		for _, b := range [][]byte{{0xaa}, append(make([]byte, 0, 64), 0xaa)} {
			got := appendUint(b, u)
			want := binary.AppendUvarint([]byte{0xaa}, u)
			if !bytes.Equal(got, want) {
				t.Fatalf("appendUint(%#x) = %x, want %x", u, got, want)
			}
			got = appendInt(b, int64(u))
			want = binary.AppendVarint([]byte{0xaa}, int64(u))
			if !bytes.Equal(got, want) {
				t.Fatalf("appendInt(%d) = %x, want %x", int64(u), got, want)
			}
			if next := append(got, 0xbb); next[len(got)] != 0xbb || !bytes.Equal(next[:len(got)], want) {
				t.Fatalf("appending after %x failed", want)
			}
		}
	}
}
