package state

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
)

// This file keeps the canonical encoder as it was before hash.go compiled
// an encoder plan per type: a plain reflective walk of the value, with the
// keys of each map sorted as reflect.Values. It is the reference the
// tests hold the plan to, byte for byte, and the baseline of the
// benchmarks. Do not change it: the state hashes recorded in existing
// action logs were computed by exactly this encoding.

// referenceSections returns the canonical encoding of each top-level field
// of s, in field order, as the reference encoder writes it.
func referenceSections(s *State) [][]byte {
	v := reflect.ValueOf(s).Elem()
	out := make([][]byte, v.NumField())
	for i := range out {
		var enc refCanonical
		enc.value(v.Field(i))
		out[i] = enc.buf
	}
	return out
}

// referenceHashes is State.Hashes over the reference encoder.
func referenceHashes(s *State) (Hash, []SectionHash) {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	sections := make([]SectionHash, t.NumField())
	all := sha256.New()
	var enc refCanonical
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

// referenceCanonical is the reference encoding of any value.
func referenceCanonical(x any) []byte {
	var enc refCanonical
	enc.value(reflect.ValueOf(x))
	return enc.buf
}

// refCanonical writes a self-delimiting encoding of any state value.
type refCanonical struct {
	buf []byte
}

func (c *refCanonical) uint(u uint64) { c.buf = binary.AppendUvarint(c.buf, u) }
func (c *refCanonical) int(i int64)   { c.buf = binary.AppendVarint(c.buf, i) }

func (c *refCanonical) value(v reflect.Value) {
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
		for _, k := range refSortedMapKeys(v) {
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

// refSortedMapKeys orders the keys of a map whose key type is a string or
// an integer, the only key types the state uses.
func refSortedMapKeys(v reflect.Value) []reflect.Value {
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
