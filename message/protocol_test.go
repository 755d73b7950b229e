package message_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/internal/wirevectors"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// protocolDoc is the wire specification whose vectors this file checks.
const protocolDoc = "../PROTOCOL.md"

// messageTypes are the zero values of the control messages, by the name a
// vector gives ("message: Hello").
var messageTypes = map[string]message.Message{
	"Hello":            message.Hello{},
	"HelloAck":         message.HelloAck{},
	"PingRequest":      message.PingRequest{},
	"PingResponse":     message.PingResponse{},
	"AddrListRequest":  message.AddrListRequest{},
	"AddrListResponse": message.AddrListResponse{},
	"AddrAnnounce":     message.AddrAnnounce{},
	"Disconnect":       message.Disconnect{},
}

// TestProtocolVectors holds PROTOCOL.md's control-message vectors to the
// codec: for each, the encoder must produce exactly the document's bytes
// from its fields, the fields must be listed in wire order, and the
// decoder must give the fields back and re-encode them identically; the
// bytes the document says are refused must be refused, with the stated
// error. Every message type must have a vector.
func TestProtocolVectors(t *testing.T) {
	vectors, err := wirevectors.Load(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	rejects := 0
	for _, v := range vectors {
		switch v.Kind {
		case wirevectors.Message:
			covered[v.Type] = true
			t.Run(v.Name, func(t *testing.T) { checkMessageVector(t, &v) })
		case wirevectors.RejectMessage:
			rejects++
			t.Run(v.Name, func(t *testing.T) { checkRejectVector(t, &v) })
		case wirevectors.Frame:
			if v.Channel == uint8(state.ChannelControl) {
				// The framing is checked against the service
				// (service/libp2p); a control frame must carry a message.
				if _, err := message.Decode(v.Payload); err != nil {
					t.Errorf("%s: the payload of a control frame does not decode: %v", v.Where(), err)
				}
			}
		}
	}
	for ty := message.Type(1); !strings.HasPrefix(ty.String(), "type("); ty++ {
		zero, known := messageTypes[ty.String()]
		switch {
		case !known:
			t.Errorf("message type %d (%s) is missing from messageTypes in this test", ty, ty)
		case zero.Type() != ty:
			t.Errorf("messageTypes[%q] is a %s", ty.String(), zero.Type())
		case !covered[ty.String()]:
			t.Errorf("%s has no vector of message type %s (%d): every control message needs one", protocolDoc, ty, ty)
		}
	}
	if rejects == 0 {
		t.Errorf("%s has no vector of bytes the decoder refuses", protocolDoc)
	}
}

func checkMessageVector(t *testing.T, v *wirevectors.Vector) {
	zero, ok := messageTypes[v.Type]
	if !ok {
		t.Fatalf("%s: unknown message type %q (want one of %s)", v.Where(), v.Type, strings.Join(typeNames(), ", "))
	}
	msg, err := buildMessage(zero, v.Fields)
	if err != nil {
		t.Fatalf("%s: %v", v.Where(), err)
	}
	label := labeler(zero, v.Fields)
	got := message.Marshal(msg)
	if !bytes.Equal(got, v.Hex) {
		t.Errorf("%s: the encoder gives other bytes for these fields.\ndocument: %s\nencoder:  %s\nthe encoder's bytes, annotated:\n%s",
			v.Where(), wirevectors.Spaced(v.Hex), wirevectors.Spaced(got), wirevectors.Annotate(got, label))
	}
	checkFieldOrder(t, v, zero, msg)
	dec, err := message.Decode(v.Hex)
	if err != nil {
		t.Fatalf("%s: the decoder refuses the document's bytes: %v\nthe document's bytes, annotated:\n%s",
			v.Where(), err, wirevectors.Annotate(v.Hex, label))
	}
	if diff := cmp.Diff(msg, dec, equateEmpty); diff != "" {
		t.Errorf("%s: the decoder reads other fields from the document's bytes (-document +decoder):\n%s", v.Where(), diff)
	}
	if re := message.Marshal(dec); !bytes.Equal(re, v.Hex) {
		t.Errorf("%s: decoding and encoding again changes the bytes:\ndocument:   %s\nre-encoded: %s",
			v.Where(), wirevectors.Spaced(v.Hex), wirevectors.Spaced(re))
	}
	// Peer IDs in vectors are canonical libp2p IDs, as a node requires
	// (a non-canonical one makes the whole message malformed).
	var peers []state.PeerAddr
	switch m := msg.(type) {
	case message.AddrListResponse:
		peers = m.Peers
	case message.AddrAnnounce:
		peers = m.Peers
	}
	for _, pa := range peers {
		if !message.CanonicalPeerID(state.IDsLibp2p, string(pa.ID)) {
			t.Errorf("%s: %q is not a canonical libp2p peer ID; a node would refuse the message", v.Where(), pa.ID)
		}
	}
	// The document says which vectors list the Mina preset's channels.
	if minaVectors[v.Name] {
		cfg := state.DefaultConfig("x")
		var got []message.ChannelInfo
		switch m := msg.(type) {
		case message.Hello:
			got = m.Channels
		case message.HelloAck:
			got = m.Channels
		}
		if want := message.ChannelInfos(&cfg); !cmp.Equal(got[:min(len(got), len(want))], want, equateEmpty) {
			t.Errorf("%s: the document says this list begins with the Mina preset's channels; they are %v, the list is %v", v.Where(), want, got)
		}
	}
}

// minaVectors are the vectors whose channel list the document says begins
// with the Mina preset's (state.MinaChannels, in order).
var minaVectors = map[string]bool{"hello": true, "hello-ack": true}

func checkRejectVector(t *testing.T, v *wirevectors.Vector) {
	m, err := message.Decode(v.Hex)
	switch {
	case err == nil:
		t.Errorf("%s: the decoder accepts these bytes, as %#v; the document says it refuses them (%q)", v.Where(), m, v.Error)
	case !strings.Contains(err.Error(), v.Error):
		t.Errorf("%s: the decoder refuses these bytes with %q; the document says %q", v.Where(), err, v.Error)
	}
}

// checkFieldOrder makes sure the document lists the fields in wire order:
// a field set to its zero value must change the item the document's order
// gives it (the type is item 0, the first field item 1, …).
func checkFieldOrder(t *testing.T, v *wirevectors.Vector, zero, msg message.Message) {
	full := topItems(message.Marshal(msg))
	for k, f := range v.Fields {
		rv := reflect.ValueOf(msg)
		fv := rv.FieldByName(f.Name)
		if fv.IsZero() {
			continue // zeroing it changes nothing; another vector shows its place
		}
		changed := reflect.New(rv.Type()).Elem()
		changed.Set(rv)
		changed.FieldByName(f.Name).SetZero()
		items := topItems(message.Marshal(changed.Interface().(message.Message)))
		var diff []int
		for i := range min(len(full), len(items)) {
			if !bytes.Equal(full[i], items[i]) {
				diff = append(diff, i)
			}
		}
		if len(diff) == 0 {
			continue // an empty list: it encodes as its zero value does
		}
		if len(diff) != 1 || diff[0] != k+1 {
			t.Errorf("%s: field %s (line %d) is listed as item %d of the array, but on the wire it is item(s) %v: list the fields in wire order",
				v.Where(), f.Name, f.Line, k+1, diff)
		}
	}
}

// topItems splits an encoded message into the encodings of its array's
// items.
func topItems(b []byte) [][]byte {
	d := codec.NewDecoder(b)
	n := d.Array()
	var out [][]byte
	for range n {
		start := d.Offset()
		d.Skip(8)
		out = append(out, b[start:d.Offset()])
	}
	return out
}

func typeNames() []string {
	var out []string
	for ty := message.Type(1); !strings.HasPrefix(ty.String(), "type("); ty++ {
		out = append(out, ty.String())
	}
	return out
}

// buildMessage makes a message of zero's type from a vector's fields.
// Every exported field must be given, by its exact Go name.
func buildMessage(zero message.Message, fields []wirevectors.Field) (message.Message, error) {
	rv := reflect.New(reflect.TypeOf(zero)).Elem()
	given := map[string]bool{}
	for _, f := range fields {
		sf, ok := rv.Type().FieldByName(f.Name)
		if !ok || !sf.IsExported() {
			return nil, fmt.Errorf("line %d: %T has no field %s (fields: %s)", f.Line, zero, f.Name, strings.Join(fieldNames(rv.Type()), ", "))
		}
		if err := setValue(rv.FieldByIndex(sf.Index), f.Value); err != nil {
			return nil, fmt.Errorf("line %d: field %s: %v", f.Line, f.Name, err)
		}
		given[f.Name] = true
	}
	// A field may be left out only where this message does not carry it
	// (Channels in a version 1 Hello): whatever its value, the bytes are
	// the same.
	msg := rv.Interface().(message.Message)
	for _, name := range fieldNames(rv.Type()) {
		if given[name] {
			continue
		}
		other := reflect.New(rv.Type()).Elem()
		other.Set(rv)
		if !setNonZero(other.FieldByName(name)) || !bytes.Equal(message.Marshal(other.Interface().(message.Message)), message.Marshal(msg)) {
			return nil, fmt.Errorf("field %s is missing: a vector gives every field its message carries on the wire", name)
		}
	}
	return msg, nil
}

// setNonZero gives rv a value other than its zero value, and reports
// whether it could.
func setNonZero(rv reflect.Value) bool {
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		rv.SetUint(1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		rv.SetInt(1)
	case reflect.String:
		rv.SetString("x")
	case reflect.Bool:
		rv.SetBool(true)
	case reflect.Slice:
		rv.Set(reflect.MakeSlice(rv.Type(), 1, 1))
	default:
		return false
	}
	return true
}

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			out = append(out, f.Name)
		}
	}
	return out
}

// setValue stores a JSON value (decoded with UseNumber) in rv, exactly:
// integers must fit their Go type, objects must give every field.
func setValue(rv reflect.Value, val any) error {
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := val.(json.Number)
		if !ok {
			return fmt.Errorf("want an unsigned integer, found %v", val)
		}
		u, err := strconv.ParseUint(n.String(), 10, rv.Type().Bits())
		if err != nil {
			return fmt.Errorf("want an unsigned %d-bit integer in decimal: %v", rv.Type().Bits(), err)
		}
		rv.SetUint(u)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := val.(json.Number)
		if !ok {
			return fmt.Errorf("want an integer, found %v", val)
		}
		i, err := strconv.ParseInt(n.String(), 10, rv.Type().Bits())
		if err != nil {
			return fmt.Errorf("want a signed %d-bit integer in decimal: %v", rv.Type().Bits(), err)
		}
		rv.SetInt(i)
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			return fmt.Errorf("want a string, found %v", val)
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			return fmt.Errorf("want true or false, found %v", val)
		}
		rv.SetBool(b)
	case reflect.Slice:
		list, ok := val.([]any)
		if !ok {
			return fmt.Errorf("want a list, found %v", val)
		}
		s := reflect.MakeSlice(rv.Type(), len(list), len(list))
		for i, item := range list {
			if err := setValue(s.Index(i), item); err != nil {
				return fmt.Errorf("[%d]: %v", i, err)
			}
		}
		rv.Set(s)
	case reflect.Struct:
		obj, ok := val.(map[string]any)
		if !ok {
			return fmt.Errorf("want an object with fields %s, found %v", strings.Join(fieldNames(rv.Type()), ", "), val)
		}
		names := fieldNames(rv.Type())
		for key := range obj {
			if !contains(names, key) {
				return fmt.Errorf("%s has no field %q (fields: %s)", rv.Type(), key, strings.Join(names, ", "))
			}
		}
		for _, name := range names {
			item, ok := obj[name]
			if !ok {
				return fmt.Errorf("field %s is missing", name)
			}
			if err := setValue(rv.FieldByName(name), item); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
		}
	default:
		return fmt.Errorf("a %s cannot be given in a vector", rv.Type())
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// labeler names the items of a message's encoding for Annotate: the type,
// then the fields as the vector lists them, and inside them list indexes
// and the fields of structs.
func labeler(zero message.Message, fields []wirevectors.Field) func([]int) string {
	msgType := reflect.TypeOf(zero)
	return func(path []int) string {
		switch {
		case len(path) == 0:
			return msgType.Name()
		case path[0] == 0:
			return "type"
		case path[0] > len(fields):
			return ""
		}
		name := fields[path[0]-1].Name
		sf, ok := msgType.FieldByName(name)
		if !ok {
			return name
		}
		t := sf.Type
		for _, i := range path[1:] {
			switch t.Kind() {
			case reflect.Slice:
				name, t = "["+strconv.Itoa(i)+"]", t.Elem()
			case reflect.Struct:
				if i >= t.NumField() {
					return ""
				}
				name, t = t.Field(i).Name, t.Field(i).Type
			default:
				return ""
			}
		}
		return name
	}
}
