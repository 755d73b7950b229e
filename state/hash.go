package state

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
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
// The encoding is derived by reflection from the State type itself, so a
// field added to any part of the state is covered by the hash without
// anyone having to remember it. Maps are encoded in sorted key order; a
// nil pointer is distinguished from a zero value, a nil slice or map is not
// distinguished from an empty one.
func (s *State) Hashes() (Hash, []SectionHash) {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	sections := make([]SectionHash, t.NumField())
	all := sha256.New()
	var enc canonical
	for i := 0; i < t.NumField(); i++ {
		enc.buf = enc.buf[:0]
		enc.value(v.Field(i))
		sum := sha256.Sum256(enc.buf)
		sections[i].Name = t.Field(i).Name
		copy(sections[i].Sum[:], sum[:8])
		all.Write([]byte(sections[i].Name))
		all.Write(sum[:])
	}
	var h Hash
	all.Sum(h[:0])
	return h, sections
}

// canonical writes a self-delimiting encoding of any state value.
type canonical struct {
	buf []byte
}

func (c *canonical) uint(u uint64) { c.buf = binary.AppendUvarint(c.buf, u) }
func (c *canonical) int(i int64)   { c.buf = binary.AppendVarint(c.buf, i) }

func (c *canonical) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			c.buf = append(c.buf, 1)
		} else {
			c.buf = append(c.buf, 0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		c.int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		c.uint(v.Uint())
	case reflect.String:
		c.uint(uint64(v.Len()))
		c.buf = append(c.buf, v.String()...)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			c.value(v.Index(i))
		}
	case reflect.Slice:
		// A nil and an empty slice hash alike: a value decoded from the
		// log cannot tell them apart, and neither should a checkpoint.
		c.uint(uint64(v.Len()))
		if v.Type().Elem().Kind() == reflect.Uint8 {
			c.buf = append(c.buf, v.Bytes()...)
			return
		}
		for i := 0; i < v.Len(); i++ {
			c.value(v.Index(i))
		}
	case reflect.Map:
		c.uint(uint64(v.Len()))
		for _, k := range sortedMapKeys(v) {
			c.value(k)
			c.value(v.MapIndex(k))
		}
	case reflect.Pointer:
		if v.IsNil() {
			c.buf = append(c.buf, 0)
			return
		}
		c.buf = append(c.buf, 1)
		c.value(v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			c.value(v.Field(i))
		}
	default:
		// Floats, interfaces, channels and functions have no place in the
		// state; TestStateHasOnlyHashableTypes keeps them out.
		c.buf = append(c.buf, fmt.Sprintf("<%s>", v.Kind())...)
	}
}

// sortedMapKeys orders the keys of a map whose key type is a string or an
// integer, the only key types the state uses.
func sortedMapKeys(v reflect.Value) []reflect.Value {
	keys := v.MapKeys()
	switch v.Type().Key().Kind() {
	case reflect.String:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Int(), b.Int()) })
	default:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Uint(), b.Uint()) })
	}
	return keys
}

// Canonical is the peer store in the state hash's canonical encoding, so
// that a command carrying it can be digested like any other.
func (ps PeerStore) Canonical() []byte {
	var enc canonical
	enc.value(reflect.ValueOf(ps))
	return enc.buf
}
