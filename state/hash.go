package state

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strings"
)

// Hash is a SHA-256 digest of a canonical encoding of the state.
type Hash [32]byte

// String names the value for logs and traces.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Short is the first 8 hex digits, for one-line output.
func (h Hash) Short() string { return hex.EncodeToString(h[:4]) }

// SectionHash is a truncated digest of one top-level field of State.
type SectionHash struct {
	Name string
	Sum  [8]byte
}

// Hash returns the digest of the whole state: the SHA-256 of the section
// digests in field order.
func (s *State) Hash() Hash {
	h, _ := s.Hashes()
	return h
}

// Hashes returns the state digest and the digest of each section.
//
// The encoding is derived from the State type itself (see the encoders
// below), so a field added to any part of the state is covered by the
// hash without anyone having to remember it. Maps are encoded in sorted key order; a
// nil pointer is distinguished from a zero value, a nil slice or map is not
// distinguished from an empty one.
//
// The section digests are hashed as the name of each section followed by
// the full SHA-256 of its encoding.
func (s *State) Hashes() (Hash, []SectionHash) { return s.hashes(generated) }

// hashes is Hashes by the generated encoder (gen) or by the plan.
func (s *State) hashes(gen bool) (Hash, []SectionHash) {
	sections := make([]SectionHash, len(statePlan.names))
	d := sha256.New()
	enc := newEncoder(d, flushAt)
	buf := make([]byte, 0, 2*flushAt)
	all := make([]byte, 0, 64*len(sections))
	var sumBuf [sha256.Size]byte
	for i := range sections {
		d.Reset()
		buf = enc.section(buf[:0], s, i, gen)
		d.Write(buf)
		sum := d.Sum(sumBuf[:0])
		sections[i].Name = statePlan.names[i]
		copy(sections[i].Sum[:], sum[:8])
		all = append(all, sections[i].Name...)
		all = append(all, sum...)
	}
	return sha256.Sum256(all), sections
}

// section appends the encoding of section (top-level field) i of s, by
// the generated encoder (gen) or by the plan.
func (e *encoder) section(b []byte, s *State, i int, gen bool) []byte {
	if gen {
		return e.genSection(b, s, i)
	}
	root := statePlan.nodes[statePlan.root]
	return e.encode(b, statePlan, statePlan.fields[int(root.first)+i].node, reflect.ValueOf(s).Elem().Field(i))
}

// Canonical is the peer store in the state hash's canonical encoding, so
// that a command carrying it can be digested like any other.
func (ps PeerStore) Canonical() []byte { return ps.canonical(generated) }

// canonical is Canonical by the generated encoder (gen) or by the plan.
func (ps PeerStore) canonical(gen bool) []byte {
	enc := newEncoder(nil, 0)
	if gen {
		return enc.genPeerStore(nil, &ps)
	}
	return enc.encode(nil, peerStorePlan, peerStorePlan.root, reflect.ValueOf(&ps).Elem())
}

// The canonical encoding is self-delimiting and defined by the kind of
// each value:
//
//   - a bool is one byte, 0 or 1;
//   - a signed integer is a zigzag varint (binary.AppendVarint), an
//     unsigned one a varint (binary.AppendUvarint);
//   - a string is its length as a varint, then its bytes;
//   - a slice is its length, then its elements (a slice of bytes: its
//     bytes); nil and empty encode alike;
//   - an array is its elements;
//   - a map is its length, then each key and its value, in ascending key
//     order (keys are strings or integers); nil and empty encode alike;
//   - a pointer is 0 if nil, else 1 and what it points to;
//   - a struct is its fields in declaration order, unexported ones too;
//   - anything else (floats, interfaces, channels, functions, which
//     TestStateHasOnlyHashableTypes keeps out of the state) is written as
//     "<kind>" whatever its value.
//
// Two encoders write it. The plan below is compiled from the types by
// reflection when the package is initialised, and reads values through
// reflect.Value. hash_gen.go is generated from the same types and reads
// fields directly, several times faster; it is used only while the types
// are those it was generated from (generated), so that a field added
// without regenerating it is still hashed, by the plan, until
// TestGeneratedEncoderIsCurrent, which fails meanwhile, is heeded.
// hash_reference_test.go keeps the plain reflective walk that defined the
// encoding; the tests hold both encoders to it byte for byte, because the
// state hashes recorded in existing logs depend on every byte.
//
//go:generate go test -tags nohashgen -run ^TestGeneratedEncoderIsCurrent$ -update .

// generated reports whether hash_gen.go was generated from the types of
// this build.
var generated = generatedFor != "" && generatedFor == typeFingerprint(reflect.TypeFor[State](), reflect.TypeFor[PeerStore]())

// typeFingerprint is a digest of everything about the types reachable
// from ts that generated code depends on: each type's package, name and
// kind, and, by the order in which a walk meets them, the names and types
// of struct fields, element and key types and array lengths.
func typeFingerprint(ts ...reflect.Type) string {
	f := fingerprinter{ids: make(map[reflect.Type]int)}
	for _, t := range ts {
		f.walk(t)
	}
	sum := sha256.Sum256([]byte(strings.Join(f.lines, "\n")))
	return hex.EncodeToString(sum[:])
}

type fingerprinter struct {
	ids   map[reflect.Type]int
	lines []string
}

func (f *fingerprinter) walk(t reflect.Type) int {
	if id, ok := f.ids[t]; ok {
		return id
	}
	id := len(f.lines)
	f.ids[t] = id
	f.lines = append(f.lines, "")
	line := fmt.Sprintf("%d %s %q %q", id, t.Kind(), t.PkgPath(), t.Name())
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		line += fmt.Sprintf(" elem %d", f.walk(t.Elem()))
	case reflect.Array:
		line += fmt.Sprintf(" len %d elem %d", t.Len(), f.walk(t.Elem()))
	case reflect.Map:
		line += fmt.Sprintf(" key %d elem %d", f.walk(t.Key()), f.walk(t.Elem()))
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			line += fmt.Sprintf(" field %q %d", t.Field(i).Name, f.walk(t.Field(i).Type))
		}
	}
	f.lines[id] = line
	return id
}

// A plan is the encoding of one type, compiled once by reflection into a
// table of nodes, and run by encoder.encode over reflect.Values without
// building any type information again. The plans of State and PeerStore
// are made during package initialisation and only read afterwards.
type plan struct {
	nodes []node
	// fields holds the fields of each struct: a struct node's fields are
	// fields[first : first+n].
	fields []field
	// keyTypes and elemTypes are the key and element types of each map
	// node, by its slot, for the encoder's scratch values.
	keyTypes, elemTypes []reflect.Type
	// texts are the placeholders of opOther nodes, by their first.
	texts []string
	// names are the root's field names when the root is a struct.
	names []string
	root  int32
}

// field is the node of a struct field, and its op, so that the encoder
// can write a leaf without looking the node up.
type field struct {
	node int32
	op   op
}

// node is the encoding of one type.
type node struct {
	op op
	// key is how a map's keys are ordered and written: opString, opInt,
	// opUint, or opOther for a key type that cannot be ordered.
	key op
	// direct reports that a map's element is pointer-shaped: a
	// reflect.MapIter yields it without copying it to the heap.
	direct bool
	// elem is the node of the element of a slice, array, pointer or map
	// (or, for a map with keys that cannot be ordered, of the key in
	// first).
	elem int32
	// first is, for a struct, the index in plan.fields of its first
	// field; for opOther, the index of its text; for a map, the node of
	// its key type.
	first int32
	// n is the number of fields of a struct or elements of an array.
	n int32
	// slot numbers the map nodes of a plan.
	slot int32
}

type op uint8

const (
	opNone op = iota // a node still being made
	opBool
	opInt
	opUint
	opString
	opBytes // a slice of a byte kind: its length and its bytes
	opSlice
	opArray
	opStruct
	opPointer
	opMap
	opOther // a kind the state may not hold: a placeholder
)

var (
	statePlan     = newPlan(reflect.TypeFor[State]())
	peerStorePlan = newPlan(reflect.TypeFor[PeerStore]())
)

// newPlan compiles the encoding of type t. A recursive type is fine: each
// type gets one node, made before the nodes of its parts.
func newPlan(t reflect.Type) *plan {
	p := &plan{}
	made := make(map[reflect.Type]int32)
	p.root = p.add(t, made)
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			p.names = append(p.names, t.Field(i).Name)
		}
	}
	return p
}

func (p *plan) add(t reflect.Type, made map[reflect.Type]int32) int32 {
	if i, ok := made[t]; ok {
		return i
	}
	i := int32(len(p.nodes))
	made[t] = i
	p.nodes = append(p.nodes, node{})
	var nd node
	switch t.Kind() {
	case reflect.Bool:
		nd.op = opBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		nd.op = opInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		nd.op = opUint
	case reflect.String:
		nd.op = opString
	case reflect.Slice:
		nd.op = opSlice
		if t.Elem().Kind() == reflect.Uint8 {
			nd.op = opBytes
		}
		nd.elem = p.add(t.Elem(), made)
	case reflect.Array:
		nd.op, nd.n = opArray, int32(t.Len())
		nd.elem = p.add(t.Elem(), made)
	case reflect.Pointer:
		nd.op = opPointer
		nd.elem = p.add(t.Elem(), made)
	case reflect.Map:
		nd.op = opMap
		switch t.Key().Kind() {
		case reflect.String:
			nd.key = opString
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			nd.key = opInt
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			nd.key = opUint
		default:
			nd.key = opOther
		}
		switch t.Elem().Kind() {
		case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			nd.direct = true
		}
		nd.slot = int32(len(p.keyTypes))
		p.keyTypes = append(p.keyTypes, t.Key())
		p.elemTypes = append(p.elemTypes, t.Elem())
		nd.first = p.add(t.Key(), made)
		nd.elem = p.add(t.Elem(), made)
	case reflect.Struct:
		nd.op, nd.n = opStruct, int32(t.NumField())
		nd.first = int32(len(p.fields))
		// Reserve the struct's run of fields before adding the fields'
		// own nodes, which may be structs with runs of their own.
		p.fields = append(p.fields, make([]field, t.NumField())...)
		for f := 0; f < t.NumField(); f++ {
			fn := p.add(t.Field(f).Type, made)
			// A node still being made (a recursive type's) is opNone, and
			// so, like any op but a leaf's, encoded by a call.
			p.fields[int(nd.first)+f] = field{node: fn, op: p.nodes[fn].op}
		}
	default:
		nd.op, nd.first = opOther, int32(len(p.texts))
		p.texts = append(p.texts, fmt.Sprintf("<%s>", t.Kind()))
	}
	p.nodes[i] = nd
	return i
}

// encoder runs a plan, or the generated code, appending the encoding to a
// buffer. Its own buffers are reused from one map to the next.
type encoder struct {
	// w, if not nil, is where the encoding goes: the buffer is written to
	// it whenever it holds flushAt bytes, so that it stays small. Without
	// w, and while a map is put in order, flushAt is noFlush.
	w       io.Writer
	flushAt int
	// entries holds the entries of the maps being encoded, innermost
	// last, and order the indexes in entries of each map's, sorted by
	// key; tmp is where a map's encoded entries are put in order.
	entries []entry
	order   []int32
	tmp     []byte
	// scratch holds, by map slot, settable values of the map's key and
	// element types, to read entries into without allocating.
	scratch []scratch
}

// flushAt is how many bytes the encoder of Hashes buffers before writing
// them to its digest; noFlush, that the encoder buffers everything.
const (
	flushAt = 2048
	noFlush = math.MaxInt
)

// newEncoder returns an encoder that writes to w every flushAt bytes, or
// that keeps everything in its buffer if w is nil.
func newEncoder(w io.Writer, flushAt int) *encoder {
	if w == nil {
		flushAt = noFlush
	}
	return &encoder{w: w, flushAt: flushAt}
}

// entry is one map entry: its key (a string, or an integer mapped to an
// unsigned one that sorts the same), and either its value or where its
// encoding lies in the buffer.
type entry struct {
	str        string
	num        uint64
	val        reflect.Value
	start, end int
}

type scratch struct{ keys, elems []reflect.Value }

// flush writes b to w if it is long enough, and returns what remains to
// be written.
func (e *encoder) flush(b []byte) []byte {
	if len(b) >= e.flushAt {
		return e.write(b)
	}
	return b
}

// write writes b to w, out of line so that flush is inlined.
func (e *encoder) write(b []byte) []byte {
	e.w.Write(b)
	return b[:0]
}

func appendBool(b []byte, x bool) []byte {
	if x {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendUint is binary.AppendUvarint, with the one-byte case inline.
func appendUint(b []byte, u uint64) []byte {
	if u < 0x80 {
		return append(b, byte(u))
	}
	return appendUvarint(b, u)
}

// appendUvarint is binary.AppendUvarint without its loop, which appends
// byte by byte: the state is full of timestamps, 9 bytes each. The 7-bit
// groups of u are spread into the bytes of one word, which is appended
// whole, and cut to the varint's length.
func appendUvarint(b []byte, u uint64) []byte {
	switch {
	case u >= 1<<63:
		return binary.AppendUvarint(b, u)
	case u >= 1<<56:
		return append(binary.LittleEndian.AppendUint64(b, spread7(u)|0x8080808080808080), byte(u>>56))
	}
	n := (bits.Len64(u) + 6) / 7                        // 2 to 8 bytes
	more := uint64(0x8080808080808080) >> (8 * (9 - n)) // the continuation bits of all but the last
	return binary.LittleEndian.AppendUint64(b, spread7(u)|more)[:len(b)+n]
}

// spread7 puts the i-th 7-bit group of the low 56 bits of u into byte i.
func spread7(u uint64) uint64 {
	return u&0x7f | u<<1&(0x7f<<8) | u<<2&(0x7f<<16) | u<<3&(0x7f<<24) |
		u<<4&(0x7f<<32) | u<<5&(0x7f<<40) | u<<6&(0x7f<<48) | u<<7&(0x7f<<56)
}

// appendInt is binary.AppendVarint: zigzag, then a varint. The generated
// encoder calls appendUint(b, zigzag(i)) instead, which is inlined.
func appendInt(b []byte, i int64) []byte { return appendUint(b, zigzag(i)) }

// zigzag maps signed integers to unsigned ones, small magnitudes to small
// values: 0, -1, 1, -2… to 0, 1, 2, 3….
func zigzag(i int64) uint64 { return uint64(i<<1) ^ uint64(i>>63) }

func appendString(b []byte, s string) []byte {
	return append(appendUint(b, uint64(len(s))), s...)
}

// encode appends v, of the type of node i of plan p, to b.
func (e *encoder) encode(b []byte, p *plan, i int32, v reflect.Value) []byte {
	nd := p.nodes[i]
	switch nd.op {
	case opBool:
		return appendBool(b, v.Bool())
	case opInt:
		return appendInt(b, v.Int())
	case opUint:
		return appendUint(b, v.Uint())
	case opString:
		return appendString(b, v.String())
	case opBytes:
		return append(appendUint(b, uint64(v.Len())), v.Bytes()...)
	case opSlice:
		n := v.Len()
		return e.elems(appendUint(b, uint64(n)), p, nd.elem, v, n)
	case opArray:
		return e.elems(b, p, nd.elem, v, int(nd.n))
	case opStruct:
		for f := 0; f < int(nd.n); f++ {
			fd := p.fields[int(nd.first)+f]
			fv := v.Field(f)
			// The leaves are written here rather than by a call.
			switch fd.op {
			case opBool:
				b = appendBool(b, fv.Bool())
			case opInt:
				b = appendInt(b, fv.Int())
			case opUint:
				b = appendUint(b, fv.Uint())
			case opString:
				b = appendString(b, fv.String())
			default:
				b = e.encode(b, p, fd.node, fv)
			}
		}
		return b
	case opPointer:
		if v.IsNil() {
			return append(b, 0)
		}
		return e.encode(append(b, 1), p, nd.elem, v.Elem())
	case opMap:
		return e.mapEntries(b, p, nd, v)
	default:
		return append(b, p.texts[nd.first]...)
	}
}

// elems appends the first n elements of slice or array v.
func (e *encoder) elems(b []byte, p *plan, elem int32, v reflect.Value, n int) []byte {
	switch p.nodes[elem].op {
	case opInt:
		for j := 0; j < n; j++ {
			b = appendInt(b, v.Index(j).Int())
		}
	case opUint:
		for j := 0; j < n; j++ {
			b = appendUint(b, v.Index(j).Uint())
		}
	default:
		for j := 0; j < n; j++ {
			b = e.flush(e.encode(b, p, elem, v.Index(j)))
		}
	}
	return b
}

// mapEntries appends map v, of map node nd: its length, then its entries
// in ascending key order.
//
// Map order is random, so the entries are first gathered: with a
// pointer-shaped element, its key and value, which are then sorted and
// written; with any other, its key and where it was written in the
// buffer, in map order, after which the encoded entries are put in key
// order. Either way no entry is copied to the heap: the map iterator sets
// the key (and a non-pointer element) into one scratch value per map.
func (e *encoder) mapEntries(b []byte, p *plan, nd node, v reflect.Value) []byte {
	n := v.Len()
	b = appendUint(b, uint64(n))
	if n == 0 {
		return b
	}
	if nd.key == opOther {
		// Only the reference's own behaviour can be kept here: one entry
		// is written; more cannot be ordered (the reference encoder panics).
		if n > 1 {
			panic(fmt.Sprintf("state: cannot order the keys of %s", v.Type()))
		}
		it := v.MapRange()
		it.Next()
		b = e.encode(b, p, nd.first, it.Key())
		return e.encode(b, p, nd.elem, it.Value())
	}
	// A map reached through an unexported field is read-only: its
	// entries cannot be set into other values, only copied out.
	readOnly := !v.CanInterface()
	var key, elem reflect.Value
	if !readOnly {
		key = e.take(p, nd.slot, false)
		if !nd.direct {
			elem = e.take(p, nd.slot, true)
		}
	}
	flushAt := e.flushAt
	if !nd.direct {
		// The entries are written where they are met, and then put in
		// order: the buffer may not be flushed until then.
		e.flushAt = noFlush
	}
	base, start := len(e.entries), len(b)
	e.entries = slices.Grow(e.entries, n)
	it := v.MapRange()
	for it.Next() {
		k := key
		if readOnly {
			k = it.Key()
		} else {
			k.SetIterKey(it)
		}
		var en entry
		switch nd.key {
		case opString:
			en.str = k.String()
		case opInt:
			en.num = uint64(k.Int()) ^ 1<<63
		default:
			en.num = k.Uint()
		}
		if nd.direct {
			en.val = it.Value()
		} else {
			x := elem
			if readOnly {
				x = it.Value()
			} else {
				x.SetIterValue(it)
			}
			en.start = len(b)
			b = e.encode(appendKey(b, nd.key, &en), p, nd.elem, x)
			en.end = len(b)
		}
		e.entries = append(e.entries, en)
	}
	if !readOnly {
		e.give(nd.slot, false, key)
		if !nd.direct {
			e.give(nd.slot, true, elem)
		}
	}

	// Sort the indexes of the entries, which hold no pointers to move.
	obase := len(e.order)
	for j := base; j < base+n; j++ {
		e.order = append(e.order, int32(j))
	}
	order := e.order[obase:]
	if nd.key == opString {
		slices.SortFunc(order, func(a, b int32) int { return strings.Compare(e.entries[a].str, e.entries[b].str) })
	} else {
		slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(e.entries[a].num, e.entries[b].num) })
	}
	if nd.direct {
		// Entries and indexes of maps nested in the values are appended
		// after these and dropped again before the next value: index
		// again each time, do not range.
		for j := obase; j < obase+n; j++ {
			en := &e.entries[e.order[j]]
			b = appendKey(b, nd.key, en)
			b = e.flush(e.encode(b, p, nd.elem, en.val))
		}
	} else {
		if n > 1 {
			e.tmp = e.tmp[:0]
			for _, j := range order {
				e.tmp = append(e.tmp, b[e.entries[j].start:e.entries[j].end]...)
			}
			copy(b[start:], e.tmp)
		}
		e.flushAt = flushAt
	}
	clear(e.entries[base:]) // let go of the values
	e.entries = e.entries[:base]
	e.order = e.order[:obase]
	return b
}

// appendKey appends an entry's key.
func appendKey(b []byte, kind op, en *entry) []byte {
	switch kind {
	case opString:
		return appendString(b, en.str)
	case opInt:
		return appendInt(b, int64(en.num^1<<63))
	default:
		return appendUint(b, en.num)
	}
}

// byString, bySigned and byUnsigned return the entries of m, for the
// generated encoder, and the order of their keys: es[i] for each i of
// order, in turn, are the entries in ascending key order. Indexes are
// sorted rather than entries because they hold no pointers: while the
// collector marks, every pointer moved costs a write barrier.
//
// String keys are sorted by the 8 bytes that follow the prefix all of
// them share (peer IDs all begin "12D3KooW", addresses "/ip4/"), read as a
// big-endian integer padded with zeros, of which as many low bits as the
// index needs are replaced by the index, so that plain integers are
// sorted; keys equal in the bits kept are then sorted as strings. That is
// string order: if the bits kept differ, the first byte in which they
// differ is either a byte of both keys, or the end of one of them, which
// is then a prefix of the other, padded with a zero where the other has a
// byte that is not zero.
func byString[M ~map[K]V, K ~string, V any](m M) (es []mapEntry[K, V], order []int32) {
	es = entries(m)
	if len(es) < 2 {
		return es, make([]int32, len(es))
	}
	shared := string(es[0].key)
	for i := 1; i < len(es); i++ {
		shared = commonPrefix(shared, string(es[i].key))
	}
	shift := bits.Len(uint(len(es) - 1))
	mask := uint64(1)<<shift - 1
	keys := make([]uint64, len(es))
	for i := range es {
		keys[i] = prefix8(string(es[i].key)[len(shared):])&^mask | uint64(i)
	}
	slices.Sort(keys)
	for start := 0; start < len(keys); {
		end := start + 1
		for end < len(keys) && keys[end]&^mask == keys[start]&^mask {
			end++
		}
		if end-start > 1 {
			slices.SortFunc(keys[start:end], func(a, b uint64) int {
				return strings.Compare(string(es[a&mask].key), string(es[b&mask].key))
			})
		}
		start = end
	}
	order = make([]int32, len(keys))
	for i, k := range keys {
		order[i] = int32(k & mask)
	}
	return es, order
}

func bySigned[M ~map[K]V, K ~int | ~int8 | ~int16 | ~int32 | ~int64, V any](m M) (es []mapEntry[K, V], order []int32) {
	es = entries(m)
	order = indexes(len(es))
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(es[a].key, es[b].key) })
	return es, order
}

func byUnsigned[M ~map[K]V, K ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr, V any](m M) (es []mapEntry[K, V], order []int32) {
	es = entries(m)
	order = indexes(len(es))
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(es[a].key, es[b].key) })
	return es, order
}

// entries returns the entries of m in no particular order: the callers
// sort them, and no two keys are equal, so the order of the walk does not
// reach their result.
func entries[M ~map[K]V, K comparable, V any](m M) []mapEntry[K, V] {
	es := make([]mapEntry[K, V], 0, len(m))
	for k, v := range Unordered(m) {
		es = append(es, mapEntry[K, V]{key: k, val: v})
	}
	return es
}

type mapEntry[K comparable, V any] struct {
	key K
	val V
}

// indexes returns 0, 1, …, n-1.
func indexes(n int) []int32 {
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	return order
}

// commonPrefix returns the longest common prefix of p and s.
func commonPrefix(p, s string) string {
	if strings.HasPrefix(s, p) {
		return p
	}
	n := min(len(p), len(s))
	for i := 0; i < n; i++ {
		if p[i] != s[i] {
			return p[:i]
		}
	}
	return p[:n]
}

// prefix8 returns the first 8 bytes of s as a big-endian integer, padded
// with zeros.
func prefix8(s string) uint64 {
	var x uint64
	for i := 0; i < 8; i++ {
		x <<= 8
		if i < len(s) {
			x |= uint64(s[i])
		}
	}
	return x
}

// take returns a settable value of map slot's key (or element) type: one
// set aside by give, or a new one. A map nested in an entry of a map of
// the same type takes another.
func (e *encoder) take(p *plan, slot int32, elem bool) reflect.Value {
	if e.scratch == nil {
		e.scratch = make([]scratch, len(p.keyTypes))
	}
	sc := &e.scratch[slot]
	free, t := &sc.keys, p.keyTypes[slot]
	if elem {
		free, t = &sc.elems, p.elemTypes[slot]
	}
	if k := len(*free); k > 0 {
		v := (*free)[k-1]
		*free = (*free)[:k-1]
		return v
	}
	return reflect.New(t).Elem()
}

// give sets v aside for the next map of the slot.
func (e *encoder) give(slot int32, elem bool, v reflect.Value) {
	sc := &e.scratch[slot]
	if elem {
		sc.elems = append(sc.elems, v)
	} else {
		sc.keys = append(sc.keys, v)
	}
}
