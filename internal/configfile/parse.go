// Package configfile reads and writes JSON configuration files by
// reflection over the Go structs they configure, and says exactly where a
// mistake is.
//
// Parse reads a file into a tree of Values that remember where each one
// starts (line and column). Value.Decode then sets a Go value from it:
// struct fields by name (the field's json tag name if it has one, else its
// Go name, matched exactly), durations (time.Duration) as strings such as
// "250ms", "10s" or "1h", integers as JSON numbers or as sizes in bytes
// written "64KiB", "10MiB" or "1GiB", and any type that implements
// encoding.TextUnmarshaler as a string. Decoding overlays: a struct keeps
// the fields the file does not mention, so decoding onto the defaults
// gives the defaults changed only where the file says. A list replaces the
// whole list, each element starting from its zero value.
//
// Every mistake — a syntax error, an unknown or repeated key, a value of
// the wrong type, a number out of range for its field — is an *Error that
// names the file, the line and column, and the key path:
//
//	node.json:12:5: channels[1].Budget.Burst: "5x": not a duration (want e.g. "500ms", "10s", "1h")
//
// Marshal writes a value in the same form, so what it writes decodes back
// to the same value.
package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The JSON types.
const (
	Null Kind = iota
	Bool
	Number
	String
	List
	Object
)

var kindNames = [...]string{"null", "true or false", "a number", "a string", "a list", "an object"}

// String names the kind as an error message says it ("a number").
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

// Value is one JSON value of a file, with the place where it starts.
type Value struct {
	kind Kind
	// text is a string's text or a number's literal.
	text string
	b    bool
	// members are an object's key-value pairs in file order; elems a
	// list's elements.
	members []*Value
	elems   []*Value
	// key is the value's key in its parent object, if it has one.
	key string
	// pos is where the value starts, keyPos where its key does.
	pos, keyPos Pos
	file        string
}

// Pos is a place in a file: 1-based line and column (in characters).
type Pos struct {
	Line, Col int
}

// Kind is the value's JSON type.
func (v *Value) Kind() Kind { return v.kind }

// Pos is where the value starts.
func (v *Value) Pos() Pos { return v.pos }

// KeyPos is where the value's key starts, if the value is a member of an
// object; otherwise where the value starts.
func (v *Value) KeyPos() Pos {
	if v.keyPos.Line == 0 {
		return v.pos
	}
	return v.keyPos
}

// File is the name of the file the value was read from.
func (v *Value) File() string { return v.file }

// Get returns the member key of an object, or nil if there is none (or v
// is not an object, or is nil).
func (v *Value) Get(key string) *Value {
	if v == nil {
		return nil
	}
	for _, m := range v.members {
		if m.key == key {
			return m
		}
	}
	return nil
}

// Index returns element i of a list, or nil if there is none.
func (v *Value) Index(i int) *Value {
	if v == nil || i < 0 || i >= len(v.elems) {
		return nil
	}
	return v.elems[i]
}

// Keys lists an object's keys in file order.
func (v *Value) Keys() []string {
	if v == nil {
		return nil
	}
	keys := make([]string, len(v.members))
	for i, m := range v.members {
		keys[i] = m.key
	}
	return keys
}

// Len is the number of elements of a list or members of an object.
func (v *Value) Len() int {
	if v == nil {
		return 0
	}
	return len(v.elems) + len(v.members)
}

// Errorf returns an *Error at v's place, about the setting at the key
// path path.
func (v *Value) Errorf(path, format string, args ...any) *Error {
	return &Error{File: v.file, Pos: v.pos, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Error is a mistake in a config file: where it is and what it is.
type Error struct {
	// File is the file's name.
	File string
	// Pos is where the mistake is; a zero Pos means the mistake has no
	// single place (an empty file, a setting the file does not contain).
	Pos Pos
	// Path is the key path of the setting, e.g. rules.Channels[2].Burst;
	// empty for the file as a whole.
	Path string
	// Msg says what is wrong.
	Msg string
}

// Error formats the mistake as FILE:LINE:COL: PATH: MSG.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Pos.Line, e.Pos.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Parse reads data, the contents of the file named file, as one JSON
// value. Syntax errors, an empty file, a repeated key and text after the
// value are *Errors with their place.
func Parse(file string, data []byte) (*Value, error) {
	p := &parser{file: file, data: data, lines: lineStarts(data)}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: file, Msg: "the file is empty (want a JSON object)"}
	}
	// Check the syntax first with encoding/json's own scanner, whose
	// messages say what it expected; the tree is then built from valid
	// JSON only.
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			// Offset counts the offending byte as read.
			return nil, &Error{File: file, Pos: p.pos(syn.Offset - 1), Msg: err.Error()}
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, &Error{File: file, Pos: p.pos(int64(len(data))), Msg: "the file ends before the JSON value does"}
		}
		return nil, &Error{File: file, Msg: err.Error()}
	}
	if off := p.skip(dec.InputOffset()); off < int64(len(data)) {
		return nil, &Error{File: file, Pos: p.pos(off), Msg: "unexpected text after the JSON value"}
	}
	p.dec = json.NewDecoder(bytes.NewReader(data))
	p.dec.UseNumber()
	return p.value("")
}

// parser builds the tree from a token stream that is known to be valid.
type parser struct {
	file  string
	data  []byte
	lines []int64 // offsets at which lines start
	dec   *json.Decoder
}

// lineStarts lists the offset of the first byte of every line.
func lineStarts(data []byte) []int64 {
	starts := []int64{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, int64(i)+1)
		}
	}
	return starts
}

// pos turns a byte offset into a line and a column counted in characters.
func (p *parser) pos(off int64) Pos {
	off = max(0, min(off, int64(len(p.data))))
	line := sort.Search(len(p.lines), func(i int) bool { return p.lines[i] > off }) - 1
	return Pos{Line: line + 1, Col: utf8.RuneCount(p.data[p.lines[line]:off]) + 1}
}

// skip returns the offset of the first byte at or after off that is not
// white space or a separator: where the next token starts.
func (p *parser) skip(off int64) int64 {
	for off < int64(len(p.data)) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// token reads the next token and where it starts.
func (p *parser) token() (json.Token, Pos, error) {
	at := p.pos(p.skip(p.dec.InputOffset()))
	tok, err := p.dec.Token()
	return tok, at, err
}

// value reads the value at path (for messages) and everything in it.
func (p *parser) value(path string) (*Value, error) {
	tok, at, err := p.token()
	if err != nil {
		return nil, &Error{File: p.file, Pos: at, Msg: err.Error()}
	}
	v := &Value{pos: at, file: p.file}
	switch t := tok.(type) {
	case nil:
		v.kind = Null
	case bool:
		v.kind, v.b = Bool, t
	case json.Number:
		v.kind, v.text = Number, string(t)
	case string:
		v.kind, v.text = String, t
	case json.Delim:
		switch t {
		case '[':
			v.kind = List
			for i := 0; p.dec.More(); i++ {
				e, err := p.value(fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return nil, err
				}
				v.elems = append(v.elems, e)
			}
		case '{':
			v.kind = Object
			for p.dec.More() {
				k, kat, err := p.token()
				if err != nil {
					return nil, &Error{File: p.file, Pos: kat, Msg: err.Error()}
				}
				key, _ := k.(string)
				m, err := p.value(JoinKey(path, key))
				if err != nil {
					return nil, err
				}
				if first := v.Get(key); first != nil {
					return nil, &Error{File: p.file, Pos: kat, Path: path, Msg: fmt.Sprintf("key %q appears twice (first at %d:%d)", key, first.keyPos.Line, first.keyPos.Col)}
				}
				m.key, m.keyPos = key, kat
				v.members = append(v.members, m)
			}
		}
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			return nil, &Error{File: p.file, Pos: at, Msg: err.Error()}
		}
	}
	return v, nil
}

// describe says what a value is, for "got …" in an error message.
func (v *Value) describe() string {
	switch v.kind {
	case Null:
		return "null"
	case Bool:
		return strconv.FormatBool(v.b)
	case Number:
		return "number " + v.text
	case String:
		return "string " + strconv.Quote(v.text)
	}
	return v.kind.String()
}
