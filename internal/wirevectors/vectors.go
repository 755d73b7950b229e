// Package wirevectors reads the test vectors of PROTOCOL.md, the wire
// specification, so that tests can hold the document and the code to each
// other: message/protocol_test.go checks the control-message vectors
// against the codec, service/libp2p/protocol_test.go the frame vectors
// against the direct protocol of a running service.
//
// A vector is a fenced code block whose info string is "vector". Each line
// is "key: value"; a line that begins with a space or a tab continues the
// value of the line before it (hex and payload only). Keys in lower case
// describe the vector, and there "#" begins a comment; keys that begin with
// a capital letter are the fields of a control message, in wire order, with
// a JSON value each (no comment). PROTOCOL.md ("Test vectors") describes
// the format for people and for other implementations.
package wirevectors

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Kind is what a vector shows.
type Kind int

// Kinds of vector.
const (
	// Message is a control message: its fields and its encoding.
	Message Kind = iota + 1
	// Frame is a frame of the direct protocol: channel, payload, bytes;
	// on a request channel also its request header (Vector.Req).
	Frame
	// RejectMessage is bytes the control-message decoder must refuse.
	RejectMessage
	// RejectFrame is bytes the direct protocol's reader must refuse.
	RejectFrame
)

// Field is one field of a control message as the document gives it.
type Field struct {
	Name string
	// Value is the JSON value as encoding/json decodes it with UseNumber:
	// json.Number, string, bool, nil, []any or map[string]any.
	Value any
	Line  int
}

// ReqHeader is the header of a frame on a request channel, as a vector
// gives it: "request: ID" or "response: ID STATUS".
type ReqHeader struct {
	Response bool
	ID       uint64
	// Status is a response's (0 ok, 1 refused, 2 busy, 3 too large).
	Status uint8
}

// Vector is one test vector.
type Vector struct {
	Name string
	// Doc and Line locate the vector's opening fence.
	Doc  string
	Line int
	Kind Kind
	// Type is the message type's name (Message).
	Type   string
	Fields []Field
	// Channel and Payload are the frame's (Frame). On a request channel
	// Payload is the application's bytes, after the frame's request
	// header, which Req gives.
	Channel uint8
	Payload []byte
	Req     *ReqHeader
	// Error is a part of the refusal's text (RejectMessage, RejectFrame).
	Error string
	// Hex is the bytes on the wire.
	Hex []byte
}

// Where names the vector for a failure message: "PROTOCOL.md:120: vector
// "hello"".
func (v *Vector) Where() string { return fmt.Sprintf("%s:%d: vector %q", v.Doc, v.Line, v.Name) }

// Load reads the vectors of a document.
func Load(path string) ([]Vector, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, text)
}

// Parse reads the vectors of a document's text; doc names it in errors.
func Parse(doc string, text []byte) ([]Vector, error) {
	var (
		out   []Vector
		cur   *Vector
		last  string // the key a continuation line continues
		value = map[string]*strings.Builder{}
		lines = map[string]int{}
		names = map[string]int{}
	)
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", doc, line, fmt.Sprintf(format, args...))
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		if cur == nil {
			if strings.TrimSpace(line) == "```vector" {
				cur = &Vector{Doc: doc, Line: n}
				last = ""
				clear(value)
				clear(lines)
			}
			continue
		}
		if strings.TrimSpace(line) == "```" {
			if err := finish(cur, value, lines); err != nil {
				return nil, fail(cur.Line, "vector %q: %v", cur.Name, err)
			}
			if at, dup := names[cur.Name]; dup {
				return nil, fail(cur.Line, "vector %q: the name is already used at line %d", cur.Name, at)
			}
			names[cur.Name] = cur.Line
			out = append(out, *cur)
			cur = nil
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "hex" && last != "payload" {
				return nil, fail(n, "an indented line continues only hex or payload")
			}
			value[last].WriteString(" " + stripComment(line))
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok || !validKey(key) {
			return nil, fail(n, "want \"key: value\", found %q", line)
		}
		val = strings.TrimSpace(val)
		if isField(key) {
			if cur.Kind != Message {
				return nil, fail(n, "field %s before \"message:\" (or in a vector that is not a message)", key)
			}
			for _, f := range cur.Fields {
				if f.Name == key {
					return nil, fail(n, "field %s given twice", key)
				}
			}
			d := json.NewDecoder(strings.NewReader(val))
			d.UseNumber()
			var v any
			if err := d.Decode(&v); err != nil {
				return nil, fail(n, "field %s: the value is not JSON: %v", key, err)
			}
			if d.More() {
				return nil, fail(n, "field %s: text after the JSON value", key)
			}
			cur.Fields = append(cur.Fields, Field{Name: key, Value: v, Line: n})
			last = ""
			continue
		}
		if _, dup := value[key]; dup {
			return nil, fail(n, "%s given twice", key)
		}
		b := &strings.Builder{}
		b.WriteString(stripComment(val))
		value[key], lines[key], last = b, n, key
		if key == "message" {
			cur.Kind = Message
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fail(cur.Line, "vector %q: no closing ```", cur.Name)
	}
	return out, nil
}

// finish checks a vector's keys and reads their values.
func finish(v *Vector, value map[string]*strings.Builder, lines map[string]int) error {
	get := func(k string) (string, bool) {
		b, ok := value[k]
		if !ok {
			return "", false
		}
		return strings.TrimSpace(b.String()), true
	}
	allowed := map[string]bool{"name": true, "hex": true}
	name, ok := get("name")
	if !ok || name == "" {
		return fmt.Errorf("no name")
	}
	v.Name = name
	kinds := 0
	if t, ok := get("message"); ok {
		kinds++
		v.Kind, v.Type = Message, t
	}
	if ch, ok := get("frame"); ok {
		kinds++
		c, err := strconv.ParseUint(ch, 10, 8)
		if err != nil {
			return fmt.Errorf("frame: want a channel number 0-255, found %q", ch)
		}
		v.Kind, v.Channel = Frame, uint8(c)
		allowed["payload"] = true
		p, ok := get("payload")
		if !ok {
			return fmt.Errorf("a frame needs a payload (\"payload:\" with nothing after it for an empty one)")
		}
		b, err := parseHex(p)
		if err != nil {
			return fmt.Errorf("payload (line %d): %v", lines["payload"], err)
		}
		v.Payload = b
		allowed["request"], allowed["response"] = true, true
		req, isReq := get("request")
		resp, isResp := get("response")
		switch {
		case isReq && isResp:
			return fmt.Errorf("a frame is a request or a response, not both")
		case isReq:
			id, err := strconv.ParseUint(req, 10, 64)
			if err != nil {
				return fmt.Errorf("request (line %d): want a request ID in decimal, found %q", lines["request"], req)
			}
			v.Req = &ReqHeader{ID: id}
		case isResp:
			f := strings.Fields(resp)
			if len(f) != 2 {
				return fmt.Errorf("response (line %d): want \"ID STATUS\" in decimal, found %q", lines["response"], resp)
			}
			id, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return fmt.Errorf("response (line %d): want a request ID in decimal, found %q", lines["response"], f[0])
			}
			st, err := strconv.ParseUint(f[1], 10, 8)
			if err != nil {
				return fmt.Errorf("response (line %d): want a status 0-255, found %q", lines["response"], f[1])
			}
			v.Req = &ReqHeader{Response: true, ID: id, Status: uint8(st)}
		}
	}
	if r, ok := get("reject"); ok {
		kinds++
		switch r {
		case "message":
			v.Kind = RejectMessage
		case "frame":
			v.Kind = RejectFrame
		default:
			return fmt.Errorf("reject: want message or frame, found %q", r)
		}
		allowed["error"] = true
		if v.Error, ok = get("error"); !ok || v.Error == "" {
			return fmt.Errorf("a rejected vector needs the text of its error (\"error:\")")
		}
	}
	if kinds != 1 {
		return fmt.Errorf("want exactly one of \"message:\", \"frame:\" and \"reject:\", found %d", kinds)
	}
	allowed[map[Kind]string{Message: "message", Frame: "frame", RejectMessage: "reject", RejectFrame: "reject"}[v.Kind]] = true
	for k := range value {
		if !allowed[k] {
			return fmt.Errorf("%s (line %d) does not belong in this kind of vector", k, lines[k])
		}
	}
	h, ok := get("hex")
	if !ok {
		return fmt.Errorf("no hex")
	}
	b, err := parseHex(h)
	if err != nil {
		return fmt.Errorf("hex (line %d): %v", lines["hex"], err)
	}
	if len(b) == 0 {
		return fmt.Errorf("hex (line %d) is empty", lines["hex"])
	}
	v.Hex = b
	return nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return false
		}
	}
	return true
}

// isField says whether a key is a message field: it begins with a capital.
func isField(k string) bool { return k[0] >= 'A' && k[0] <= 'Z' }

func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// parseHex reads hex digits, ignoring white space.
func parseHex(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("an odd number of hex digits (%d)", len(s))
	}
	return hex.DecodeString(s)
}

// Spaced prints bytes as hex, one space between bytes.
func Spaced(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}
