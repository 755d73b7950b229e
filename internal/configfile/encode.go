package configfile

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lineWidth is the width within which Marshal writes a list or an object
// on one line.
const lineWidth = 80

// Marshal writes v as an indented JSON document that Decode reads back to
// the same value: fields in struct order under their keys, durations as
// strings ("10s"), sizes (Options.Size) as "10MiB" where that is exact,
// encoding.TextMarshaler types as strings, map keys sorted. A list or
// object that fits in a line is written on one. A nil slice or map is
// written empty, and a nil pointer field is left out.
func Marshal(v any, opts *Options) ([]byte, error) {
	n, err := encode(reflect.ValueOf(v), opts, false)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	n.write(&b, 0, 0)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// FormatDuration writes d in the largest unit that divides it ("1h",
// "90s", "250ms"); time.ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// out is a value being written: a scalar's JSON text, or a list or object.
type out struct {
	scalar  string
	isObj   bool
	keys    []string
	members []*out // an object's values, or a list's elements
}

func encode(rv reflect.Value, opts *Options, size bool) (*out, error) {
	t := rv.Type()
	switch {
	case t == durationType:
		return quoted(FormatDuration(time.Duration(rv.Int()))), nil
	case t.Kind() != reflect.Pointer && t.Implements(textMarshalerType):
		text, err := rv.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return nil, err
		}
		return quoted(string(text)), nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return &out{scalar: "null"}, nil
		}
		return encode(rv.Elem(), opts, size)
	case reflect.Struct:
		o := &out{isObj: true}
		fields := fieldsOf(t)
		for _, key := range fields.keys {
			sf := t.Field(fields.byKey[key])
			f := rv.Field(fields.byKey[key])
			if opts.refuse(t, sf.Name) != "" || f.Kind() == reflect.Pointer && f.IsNil() {
				continue
			}
			m, err := encode(f, opts, opts.size(t, sf.Name))
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", t, sf.Name, err)
			}
			o.keys, o.members = append(o.keys, key), append(o.members, m)
		}
		return o, nil
	case reflect.Slice, reflect.Array:
		o := &out{members: []*out{}}
		for i := range rv.Len() {
			m, err := encode(rv.Index(i), opts, size)
			if err != nil {
				return nil, err
			}
			o.members = append(o.members, m)
		}
		return o, nil
	case reflect.Map:
		o := &out{isObj: true}
		type entry struct {
			key string
			v   reflect.Value
		}
		var entries []entry
		for it := rv.MapRange(); it.Next(); {
			k := it.Key()
			var key string
			if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
				text, err := tm.MarshalText()
				if err != nil {
					return nil, err
				}
				key = string(text)
			} else if k.Kind() == reflect.String {
				key = k.String()
			} else {
				return nil, fmt.Errorf("a map keyed by %s cannot be written", k.Type())
			}
			entries = append(entries, entry{key, it.Value()})
		}
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
		for _, e := range entries {
			m, err := encode(e.v, opts, size)
			if err != nil {
				return nil, err
			}
			o.keys, o.members = append(o.keys, e.key), append(o.members, m)
		}
		return o, nil
	case reflect.String:
		return quoted(rv.String()), nil
	case reflect.Bool:
		return &out{scalar: strconv.FormatBool(rv.Bool())}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s := FormatSize(rv.Int()); size && s != strconv.FormatInt(rv.Int(), 10) {
			return quoted(s), nil
		}
		return &out{scalar: strconv.FormatInt(rv.Int(), 10)}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); size && u <= math.MaxInt64 {
			if s := FormatSize(int64(u)); s != strconv.FormatUint(u, 10) {
				return quoted(s), nil
			}
		}
		return &out{scalar: strconv.FormatUint(rv.Uint(), 10)}, nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v cannot be written in JSON", f)
		}
		return &out{scalar: strconv.FormatFloat(f, 'g', -1, t.Bits())}, nil
	}
	return nil, fmt.Errorf("a %s cannot be written to a config file", t)
}

// quoted is a JSON string.
func quoted(s string) *out {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return &out{scalar: strings.TrimSuffix(b.String(), "\n")}
}

// compact is o on one line.
func (o *out) compact() string {
	if o.scalar != "" {
		return o.scalar
	}
	var b strings.Builder
	open, close := "[", "]"
	if o.isObj {
		open, close = "{", "}"
	}
	b.WriteString(open)
	for i, m := range o.members {
		if i > 0 {
			b.WriteString(", ")
		}
		if o.isObj {
			b.WriteString(quoted(o.keys[i]).scalar + ": ")
		}
		b.WriteString(m.compact())
	}
	b.WriteString(close)
	return b.String()
}

// write writes o at nesting depth depth; used is how much of the line its
// key already takes.
func (o *out) write(b *bytes.Buffer, depth, used int) {
	if c := o.compact(); o.scalar != "" || len(o.members) == 0 || 2*depth+used+len(c) <= lineWidth {
		b.WriteString(c)
		return
	}
	open, close := "[", "]"
	if o.isObj {
		open, close = "{", "}"
	}
	b.WriteString(open)
	pad := strings.Repeat("  ", depth+1)
	for i, m := range o.members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n" + pad)
		key := ""
		if o.isObj {
			key = quoted(o.keys[i]).scalar + ": "
			b.WriteString(key)
		}
		m.write(b, depth+1, len(key))
	}
	b.WriteString("\n" + strings.Repeat("  ", depth) + close)
}
