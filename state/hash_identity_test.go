package state_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// The tests of this file hold the canonical encoding of hash.go to the
// reference encoder of hash_reference_test.go, byte for byte, on states
// the reducers make (the fuzz generator's, a node with 100 ready peers),
// on states filled at random through every field of the State type, and
// on a test type that has every kind the encoder knows. The state hashes
// of existing action logs were computed by the reference encoding, so the
// encoding may not change by a single byte.

// clock is a clock the test sets.
type clock struct{ t int64 }

func (c *clock) Now() int64 { return c.t }

// readyState returns the state of a node with n ready inbound peers, made
// as store/bench_test.go's readyNode makes it.
func readyState(tb testing.TB, n int) *state.State {
	cfg := state.DefaultConfig("bench")
	cfg.MaxInbound, cfg.MaxPendingInbound = n, n
	self := state.Self{ID: "self", ListenAddrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}
	st := state.New(cfg, self, 1, fuzzsteps.Epoch)
	s := store.New(st, nil, &clock{t: fuzzsteps.Epoch}, store.Options{})
	for i := 0; i < n; i++ {
		id := state.PeerID(fmt.Sprintf("12D3KooWPeer%040d", i))
		addr := state.Addr(fmt.Sprintf("/ip4/10.%d.%d.1/tcp/4001", i/250+1, i%250))
		s.Dispatch(action.IncomingConnection{Peer: id, Addr: addr})
		hello := message.Hello{Version: 2, Network: "bench", UnixTime: fuzzsteps.Epoch / 1e9, Nonce: uint64(i + 1), Channels: message.ChannelInfos(&st.Config)}
		s.Dispatch(action.MessageReceived{Peer: id, Channel: state.ChannelControl, Data: message.Marshal(hello)})
	}
	if got := s.State().Counts().Ready; got != n {
		tb.Fatalf("%d peers ready, want %d", got, n)
	}
	return s.State()
}

// emptyState is a new node of the fuzz harness's configuration.
func emptyState() *state.State {
	return state.New(fuzzsteps.DefaultConfig(), fuzzsteps.DefaultSelf(), 7, fuzzsteps.Epoch)
}

// runInputs drives a store of the fuzz harness's configuration with the
// inputs the fuzz generator reads from data, at most max of them, and
// calls each with the state after every input. It returns the final state.
func runInputs(data []byte, max int, each func(*state.State)) *state.State {
	c := &clock{t: fuzzsteps.Epoch}
	s := store.New(emptyState(), nil, c, store.Options{})
	g := fuzzsteps.NewGenerator(data)
	for i := 0; i < max && !g.Done(); i++ {
		step, a := g.Next(s.State())
		c.t += int64(step)
		s.Dispatch(a)
		if each != nil {
			each(s.State())
		}
	}
	return s.State()
}

// inputs are the fuzz seeds and n more random inputs of up to 2,000 bytes.
func inputs(n int) [][]byte {
	out := fuzzsteps.Seeds()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		b := make([]byte, 1+r.IntN(2000))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		out = append(out, b)
	}
	return out
}

// encoders are the two encoders of hash.go: the plan, compiled from the
// types by reflection, and the generated one (hash_gen.go), when the
// package is built with it.
func encoders() []string {
	if state.Generated() {
		return []string{"plan", "generated"}
	}
	return []string{"plan"}
}

// sameAsReference fails unless both encoders of hash.go encode s exactly
// as the reference encoder does: every section's bytes, the hashes, and
// the peer store's canonical bytes.
func sameAsReference(t *testing.T, name string, s *state.State) {
	t.Helper()
	want := state.ReferenceSections(s)
	rh, rsections := state.ReferenceHashes(s)
	ps, withStore := s.PeerStore, state.AllOf(s.Discovery.Book, func(_ state.PeerID, e *state.AddrEntry) bool { return e != nil })
	for _, enc := range encoders() {
		got, h, sections := state.PlanSections(s), state.Hash{}, []state.SectionHash(nil)
		canonical := state.PlanCanonical
		if enc == "generated" {
			got = state.GeneratedSections(s)
			h, sections = state.GeneratedHashes(s)
			canonical = state.GeneratedCanonical
		} else {
			h, sections = state.PlanHashes(s)
		}
		if len(got) != len(want) {
			t.Fatalf("%s, %s: %d sections, want %d", name, enc, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				field := reflect.TypeFor[state.State]().Field(i).Name
				t.Fatalf("%s, %s: section %s differs from the reference encoding:\n got %x\nwant %x", name, enc, field, got[i], want[i])
			}
		}
		if h != rh || !slices.Equal(sections, rsections) {
			t.Fatalf("%s, %s: hashes %s %v, reference %s %v", name, enc, h, sections, rh, rsections)
		}
		// A filled state's book may hold nil entries, which PeerStore
		// cannot copy.
		if withStore {
			if got, want := canonical(ps()), state.ReferenceCanonical(ps()); !bytes.Equal(got, want) {
				t.Fatalf("%s, %s: PeerStore.Canonical differs from the reference:\n got %x\nwant %x", name, enc, got, want)
			}
		}
	}
	if h, sections := s.Hashes(); h != rh || !slices.Equal(sections, rsections) {
		t.Fatalf("%s: Hashes %s %v, reference %s %v", name, h, sections, rh, rsections)
	}
	if withStore && !bytes.Equal(s.PeerStore().Canonical(), state.ReferenceCanonical(s.PeerStore())) {
		t.Fatalf("%s: PeerStore.Canonical differs from the reference", name)
	}
}

func TestHashesMatchReferenceEmpty(t *testing.T) {
	t.Parallel()
	sameAsReference(t, "new state", emptyState())
	sameAsReference(t, "zero State", &state.State{})
	sameAsReference(t, "bench config", state.New(state.DefaultConfig("bench"), state.Self{ID: "self"}, 1, 0))
}

func TestHashesMatchReferenceReadyPeers(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 100} {
		sameAsReference(t, fmt.Sprintf("%d ready peers", n), readyState(t, n))
	}
}

// TestHashesMatchReferenceFuzzStates compares the encodings after every
// input of the fuzz seeds and of random inputs, and logs the parts of the
// state those inputs never filled (TestHashesMatchReferenceFilled covers
// them).
func TestHashesMatchReferenceFuzzStates(t *testing.T) {
	t.Parallel()
	n := 60
	if testing.Short() {
		n = 10
	}
	filled := make(map[string]bool)
	states := 0
	for k, in := range inputs(n) {
		runInputs(in, 400, func(s *state.State) {
			states++
			sameAsReference(t, fmt.Sprintf("input %d, state %d", k, states), s)
			markFilled(reflect.ValueOf(s).Elem(), "State", filled)
		})
	}
	var never []string
	for _, p := range containerPaths(reflect.TypeFor[state.State](), "State") {
		if !filled[p] {
			never = append(never, p)
		}
	}
	t.Logf("%d states compared; never filled: %v", states, never)
	if states < 5000 {
		t.Errorf("only %d states compared", states)
	}
}

// FuzzCanonicalMatchesReference runs the fuzz generator's inputs and
// compares the encodings after every input.
func FuzzCanonicalMatchesReference(f *testing.F) {
	for _, s := range fuzzsteps.Seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runInputs(data, 400, func(s *state.State) { sameAsReference(t, "fuzz state", s) })
	})
}

// TestHashesMatchReferenceFilled fills every field of State with random
// values: every map, slice and pointer non-empty in half the states (each
// section then is), any of them empty or nil in the other half.
func TestHashesMatchReferenceFilled(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		f := filler{r: r, full: i%2 == 0}
		var s state.State
		f.fill(reflect.ValueOf(&s).Elem(), 0)
		if f.full {
			if empty := emptyParts(reflect.ValueOf(s), "State"); len(empty) > 0 {
				t.Fatalf("a full state has empty parts: %v", empty)
			}
		}
		sameAsReference(t, fmt.Sprintf("filled state %d", i), &s)

		var ps state.PeerStore
		f.fill(reflect.ValueOf(&ps).Elem(), 0)
		want := state.ReferenceCanonical(ps)
		if got := state.PlanCanonical(ps); !bytes.Equal(got, want) {
			t.Fatalf("filled peer store %d, plan: got %x, want %x", i, got, want)
		}
		if got := ps.Canonical(); !bytes.Equal(got, want) {
			t.Fatalf("filled peer store %d: got %x, want %x", i, got, want)
		}
		if state.Generated() {
			if got := state.GeneratedCanonical(ps); !bytes.Equal(got, want) {
				t.Fatalf("filled peer store %d, generated: got %x, want %x", i, got, want)
			}
		}
	}
}

// The kitchen sink has every kind of value, including the ones the state
// may not hold (the reference encoder writes a placeholder for them), map
// keys of every kind it can order, unexported fields, byte arrays, and a
// recursive type.
type (
	sinkNode struct {
		Next *sinkNode
		V    int8
	}
	sinkEmbedded struct {
		E []int16
	}
	sink struct {
		B    bool
		I    int
		I8   int8
		I16  int16
		I32  int32
		I64  int64
		U    uint
		U8   uint8
		U16  uint16
		U32  uint32
		U64  uint64
		UP   uintptr
		S    string
		Bs   []byte
		Arr  [3]uint16
		BArr [4]byte
		sinkEmbedded
		Nested struct {
			X []string
			M map[int8][]byte
		}
		MI   map[int]string
		MI8  map[int8]int
		MI16 map[int16]*sinkNode
		MU   map[uint]bool
		MU16 map[uint16]*sinkNode
		MUP  map[uintptr]uint8
		MS   map[string]map[string]int
		MBan map[state.PeerID]state.Ban
		MArr map[int32][2]string
		MNst map[int16][]sinkNode
		P    *int
		PP   **string
		Tree *sinkNode
		Ss   [][]uint32
		F    float64
		C    complex64
		Any  any
		Fn   func()
		Ch   chan int

		hidden  map[string]int
		hiddenP map[uint8]*sinkNode
		hiddenS []uint32
		hiddenB []byte
		hiddenA [2]byte
		hiddenN sinkNode
	}
)

func TestCanonicalMatchesReferenceKitchenSink(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 500; i++ {
		f := filler{r: r, full: i%3 == 0}
		var x sink
		f.fill(reflect.ValueOf(&x).Elem(), 0)
		if got, want := state.CanonicalOf(x), state.ReferenceCanonical(x); !bytes.Equal(got, want) {
			t.Fatalf("sink %d: got %x, want %x", i, got, want)
		}
		if got, want := state.CanonicalOf(&x), state.ReferenceCanonical(&x); !bytes.Equal(got, want) {
			t.Fatalf("*sink %d: got %x, want %x", i, got, want)
		}
	}
	for _, x := range []any{0, "", []int(nil), map[string]int(nil), (*sink)(nil), sink{}} {
		if got, want := state.CanonicalOf(x), state.ReferenceCanonical(x); !bytes.Equal(got, want) {
			t.Errorf("%#v: got %x, want %x", x, got, want)
		}
	}
}

// TestCanonicalGolden pins the encoding, computed by the reference encoder
// before hash.go changed, so that neither the encoder nor its reference can
// drift. It uses test types only, so that changes to the state and its
// reducers leave it alone.
func TestCanonicalGolden(t *testing.T) {
	t.Parallel()
	type small struct {
		A int
		B string
		M map[string]uint8
		P *bool
		Q *bool
		S []int16
		K map[int8]bool
	}
	yes := true
	x := small{A: -3, B: "hé", M: map[string]uint8{"b": 200, "a": 1, "": 0}, Q: &yes, S: []int16{1, -1, 300}, K: map[int8]bool{5: true, -5: false}}
	// A: zigzag -3 = 05; B: length 3, "hé"; M: 3 entries, "" 0, "a" 1,
	// "b" 200 (c8 01); P nil 00; Q present 01, true 01; S: 3, 1 (02), -1
	// (01), 300 (d8 04); K: 2 entries, -5 (09) false, 5 (0a) true.
	const want = "05" + "0368c3a9" + "03" + "0000" + "016101" + "0162c801" + "00" + "0101" + "03" + "02" + "01" + "d804" + "02" + "0900" + "0a01"
	if got := hex.EncodeToString(state.CanonicalOf(x)); got != want {
		t.Errorf("small: got %s, want %s", got, want)
	}

	sum, ref := sha256.New(), sha256.New()
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 100; i++ {
		f := filler{r: r, full: i%2 == 0}
		var x sink
		f.fill(reflect.ValueOf(&x).Elem(), 0)
		sum.Write(state.CanonicalOf(x))
		ref.Write(state.ReferenceCanonical(x))
	}
	const digest = "f7da18a50ff471d89dac9ff017746ce04b225f5a5e87add02c6226caf0bfb517"
	if got := hex.EncodeToString(sum.Sum(nil)); got != digest {
		t.Errorf("filled sinks: digest %s, want %s", got, digest)
	}
	if got := hex.EncodeToString(ref.Sum(nil)); got != digest {
		t.Errorf("filled sinks, reference encoder: digest %s, want %s", got, digest)
	}
}

// BenchmarkHashes hashes the state of a node with 100 ready peers.
func BenchmarkHashes(b *testing.B) {
	s := readyState(b, 100)
	b.ReportAllocs()
	for b.Loop() {
		s.Hashes()
	}
}

// BenchmarkHashesPlan is BenchmarkHashes by the plan, which Hashes uses
// when hash_gen.go is out of date.
func BenchmarkHashesPlan(b *testing.B) {
	s := readyState(b, 100)
	b.ReportAllocs()
	for b.Loop() {
		state.PlanHashes(s)
	}
}

// BenchmarkHashesReference is BenchmarkHashes with the reference encoder,
// the one hash.go used before it compiled a plan per type.
func BenchmarkHashesReference(b *testing.B) {
	s := readyState(b, 100)
	b.ReportAllocs()
	for b.Loop() {
		state.ReferenceHashes(s)
	}
}

// filler sets every field of a value at random. With full, every map,
// slice and pointer is non-empty (pointers down to a depth of 4).
type filler struct {
	r    *rand.Rand
	full bool
}

func (f *filler) fill(v reflect.Value, depth int) {
	if !v.CanSet() {
		// An unexported field: set it through its address.
		v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(f.r.IntN(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		shift := 64 - v.Type().Bits()
		v.SetInt(int64(f.uint64()) << shift >> shift)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		shift := 64 - v.Type().Bits()
		v.SetUint(f.uint64() << shift >> shift)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(f.r.NormFloat64())
	case reflect.Complex64, reflect.Complex128:
		v.SetComplex(complex(f.r.NormFloat64(), 1))
	case reflect.String:
		b := make([]byte, f.length())
		for i := range b {
			b[i] = byte(f.r.Uint32())
		}
		v.SetString(string(b))
	case reflect.Slice:
		if !f.full && f.r.IntN(4) == 0 {
			v.SetZero()
			return
		}
		n := f.r.IntN(5)
		if f.full || depth > 4 {
			n = 1 + f.r.IntN(4)
		}
		if depth > 4 {
			n = 1
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			f.fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			f.fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		if !f.full && f.r.IntN(4) == 0 {
			v.SetZero()
			return
		}
		n := f.r.IntN(7)
		switch {
		case depth > 4:
			n = 1
		case f.r.IntN(8) == 0:
			n = 60
		case f.full:
			n++
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i < n; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			f.fill(k, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		if depth > 4 || !f.full && f.r.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f.fill(v.Field(i), depth+1)
		}
	case reflect.Interface:
		if f.r.IntN(2) == 0 {
			v.Set(reflect.ValueOf(f.r.Int()))
		}
	case reflect.Func, reflect.Chan:
		// Left nil: the encoders write a placeholder whatever the value.
	}
}

// uint64 favours the boundaries of the varint encoding and of the
// integer types.
func (f *filler) uint64() uint64 {
	switch f.r.IntN(6) {
	case 0:
		return uint64(f.r.IntN(3))
	case 1:
		return []uint64{127, 128, 255, 256, 16383, 16384, math.MaxInt64, math.MaxUint64}[f.r.IntN(8)]
	case 2:
		return -uint64(f.r.IntN(300))
	case 3:
		return f.r.Uint64() >> f.r.IntN(64)
	default:
		return f.r.Uint64()
	}
}

// length is a string's length: often short, sometimes past the one-byte
// varint.
func (f *filler) length() int {
	switch f.r.IntN(8) {
	case 0:
		return 0
	case 1:
		return 127 + f.r.IntN(80)
	default:
		return 1 + f.r.IntN(12)
	}
}

// containerPaths lists the maps and slices in type t, by path.
func containerPaths(t reflect.Type, path string) []string {
	var out []string
	switch t.Kind() {
	case reflect.Pointer:
		out = containerPaths(t.Elem(), path)
	case reflect.Map, reflect.Slice:
		out = append(out, path)
		out = append(out, containerPaths(t.Elem(), path+"[*]")...)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			out = append(out, containerPaths(t.Field(i).Type, path+"."+t.Field(i).Name)...)
		}
	}
	return out
}

// markFilled records the paths of the non-empty maps and slices in v.
func markFilled(v reflect.Value, path string, filled map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			markFilled(v.Elem(), path, filled)
		}
	case reflect.Slice:
		if v.Len() > 0 {
			filled[path] = true
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			markFilled(v.Index(i), path+"[*]", filled)
		}
	case reflect.Map:
		if v.Len() > 0 {
			filled[path] = true
		}
		// The order of the walk does not matter: it only marks paths.
		for it := v.MapRange(); it.Next(); {
			markFilled(it.Value(), path+"[*]", filled)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			markFilled(v.Field(i), path+"."+v.Type().Field(i).Name, filled)
		}
	}
}

// emptyParts lists the empty maps and slices and the nil pointers in v.
func emptyParts(v reflect.Value, path string) []string {
	var out []string
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path + " (nil)"}
		}
		out = emptyParts(v.Elem(), path)
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Kind() == reflect.Slice {
			for i := 0; i < v.Len(); i++ {
				out = append(out, emptyParts(v.Index(i), path+"[*]")...)
			}
		} else {
			for it := v.MapRange(); it.Next(); {
				out = append(out, emptyParts(it.Value(), path+"[*]")...)
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			out = append(out, emptyParts(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
	}
	return out
}
