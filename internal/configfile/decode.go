package configfile

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Options tune decoding and writing for the structs of one file format.
// The zero value (or nil) decodes and writes every exported field.
type Options struct {
	// Size reports whether field of the struct type owner is a number of
	// bytes (or of bytes per second). Decode then also accepts it as a
	// string with a unit ("64KiB", "10MiB"), and Marshal writes it so
	// when it is a whole number of KiB, MiB or GiB.
	Size func(owner reflect.Type, field string) bool
	// Refuse says why field of owner may not be set in this file (for
	// instance because another key sets it), or "" if it may. Decode
	// refuses such a key with that reason; Marshal leaves it out.
	Refuse func(owner reflect.Type, field string) string
}

func (o *Options) size(owner reflect.Type, field string) bool {
	return o != nil && o.Size != nil && o.Size(owner, field)
}

func (o *Options) refuse(owner reflect.Type, field string) string {
	if o == nil || o.Refuse == nil {
		return ""
	}
	return o.Refuse(owner, field)
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

// Decode sets *dst from v; dst must be a non-nil pointer. path is v's key
// path, the start of every path in an error ("" at the file's top). A
// struct keeps the fields v does not name (decode onto the defaults to
// change only what the file says); a list or map replaces what dst held.
// The error joins an *Error for every mistake found, in file order.
func (v *Value) Decode(path string, dst any, opts *Options) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("configfile: Decode needs a non-nil pointer, not %T", dst)
	}
	d := &decoder{opts: opts}
	d.value(v, path, rv.Elem(), false)
	return errors.Join(d.errs...)
}

type decoder struct {
	opts *Options
	errs []error
}

func (d *decoder) fail(v *Value, path, format string, args ...any) {
	d.errs = append(d.errs, v.Errorf(path, format, args...))
}

// want reports a value of the wrong JSON type.
func (d *decoder) want(v *Value, path, what string) {
	d.fail(v, path, "want %s, got %s", what, v.describe())
}

// value decodes v into rv, which is settable. size says whether rv is a
// field Options.Size named.
func (d *decoder) value(v *Value, path string, rv reflect.Value, size bool) {
	t := rv.Type()
	if v.kind == Null {
		d.fail(v, path, "null is not a setting here (leave the key out to keep the default)")
		return
	}
	switch {
	case t == durationType:
		if v.kind != String {
			d.want(v, path, `a duration string like "10s"`)
			return
		}
		dur, err := time.ParseDuration(v.text)
		if err != nil {
			d.fail(v, path, `%q: not a duration (want e.g. "500ms", "10s", "1h")`, v.text)
			return
		}
		rv.SetInt(int64(dur))
		return
	case t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textUnmarshalerType):
		if v.kind != String {
			d.want(v, path, "a string")
			return
		}
		if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(v.text)); err != nil {
			d.fail(v, path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			rv.Set(reflect.New(t.Elem()))
		}
		d.value(v, path, rv.Elem(), size)
	case reflect.Struct:
		d.structValue(v, path, rv)
	case reflect.Slice:
		if v.kind != List {
			d.want(v, path, "a list")
			return
		}
		s := reflect.MakeSlice(t, len(v.elems), len(v.elems))
		for i, e := range v.elems {
			d.value(e, fmt.Sprintf("%s[%d]", path, i), s.Index(i), size)
		}
		rv.Set(s)
	case reflect.Array:
		if v.kind != List {
			d.want(v, path, "a list")
			return
		}
		if len(v.elems) != t.Len() {
			d.fail(v, path, "want a list of %d, got %d", t.Len(), len(v.elems))
			return
		}
		for i, e := range v.elems {
			d.value(e, fmt.Sprintf("%s[%d]", path, i), rv.Index(i), size)
		}
	case reflect.Map:
		d.mapValue(v, path, rv, size)
	case reflect.String:
		if v.kind != String {
			d.want(v, path, "a string")
			return
		}
		rv.SetString(v.text)
	case reflect.Bool:
		if v.kind != Bool {
			d.want(v, path, "true or false")
			return
		}
		rv.SetBool(v.b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		d.integer(v, path, rv, size)
	case reflect.Float32, reflect.Float64:
		if v.kind != Number {
			d.want(v, path, "a number")
			return
		}
		f, err := strconv.ParseFloat(v.text, t.Bits())
		if err != nil {
			d.fail(v, path, "%s is out of range for %s", v.text, t)
			return
		}
		rv.SetFloat(f)
	default:
		d.fail(v, path, "a %s cannot be set from a config file", t)
	}
}

// structValue sets the fields v names and leaves the others as they are.
func (d *decoder) structValue(v *Value, path string, rv reflect.Value) {
	if v.kind != Object {
		d.want(v, path, "an object")
		return
	}
	t := rv.Type()
	fields := fieldsOf(t)
	for _, m := range v.members {
		f, ok := fields.byKey[m.key]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", m.key)
			if s := suggest(m.key, fields.keys); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errs = append(d.errs, &Error{File: m.file, Pos: m.keyPos, Path: path, Msg: msg})
			continue
		}
		sf := t.Field(f)
		if why := d.opts.refuse(t, sf.Name); why != "" {
			d.errs = append(d.errs, &Error{File: m.file, Pos: m.keyPos, Path: JoinKey(path, m.key), Msg: why})
			continue
		}
		d.value(m, JoinKey(path, m.key), rv.Field(f), d.opts.size(t, sf.Name))
	}
}

// mapValue replaces the map with v's members.
func (d *decoder) mapValue(v *Value, path string, rv reflect.Value, size bool) {
	if v.kind != Object {
		d.want(v, path, "an object")
		return
	}
	t := rv.Type()
	kt := t.Key()
	textKey := reflect.PointerTo(kt).Implements(textUnmarshalerType)
	if kt.Kind() != reflect.String && !textKey {
		d.fail(v, path, "a %s cannot be set from a config file", t)
		return
	}
	out := reflect.MakeMapWithSize(t, len(v.members))
	for _, m := range v.members {
		mpath := JoinKey(path, m.key)
		k := reflect.New(kt).Elem()
		if textKey {
			if err := k.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(m.key)); err != nil {
				d.errs = append(d.errs, &Error{File: m.file, Pos: m.keyPos, Path: mpath, Msg: err.Error()})
				continue
			}
		} else {
			k.SetString(m.key)
		}
		e := reflect.New(t.Elem()).Elem()
		d.value(m, mpath, e, size)
		out.SetMapIndex(k, e)
	}
	rv.Set(out)
}

// integer sets a signed or unsigned integer from a number, or from a size
// string when the field is a size.
func (d *decoder) integer(v *Value, path string, rv reflect.Value, size bool) {
	t := rv.Type()
	var text string
	switch {
	case v.kind == Number:
		text = v.text
		if strings.ContainsAny(text, ".eE") {
			d.fail(v, path, "want a whole number, got %s", text)
			return
		}
	case v.kind == String && size:
		n, err := ParseSize(v.text)
		if err != nil {
			d.fail(v, path, "%v", err)
			return
		}
		text = strconv.FormatInt(n, 10)
	case size:
		d.want(v, path, `a number of bytes or a size like "10MiB"`)
		return
	default:
		d.want(v, path, "a whole number")
		return
	}
	outOfRange := func() {
		if isSigned(t.Kind()) {
			hi := int64(^uint64(0) >> (65 - t.Bits()))
			d.fail(v, path, "%s is out of range for %s (%d to %d)", v.text, t, -hi-1, hi)
		} else {
			d.fail(v, path, "%s is out of range for %s (0 to %d)", v.text, t, ^uint64(0)>>(64-t.Bits()))
		}
	}
	if isSigned(t.Kind()) {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || rv.OverflowInt(n) {
			outOfRange()
			return
		}
		rv.SetInt(n)
		return
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil || rv.OverflowUint(n) {
		outOfRange()
		return
	}
	rv.SetUint(n)
}

func isSigned(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Int64
}

// structFields maps a struct's keys to its field indexes.
type structFields struct {
	keys  []string // in field order
	byKey map[string]int
}

// fieldsOf lists the settable fields of t: its exported fields, named by
// their json tag if they have one, without those tagged "-".
func fieldsOf(t reflect.Type) structFields {
	fs := structFields{byKey: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		key := sf.Name
		if tag, ok := sf.Tag.Lookup("json"); ok {
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" {
				continue
			}
			if name != "" {
				key = name
			}
		}
		fs.keys = append(fs.keys, key)
		fs.byKey[key] = i
	}
	return fs
}

// JoinKey appends an object key to a key path: ".Key" for a key that is
// an identifier, `["key"]` for any other.
func JoinKey(path, key string) string {
	if !isIdent(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// suggest returns the key among keys that key most likely misspells: the
// same but for case, or at most two edits away.
func suggest(key string, keys []string) string {
	best, bestDist := "", 3
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			return k
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist && 2*d <= len(k) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
