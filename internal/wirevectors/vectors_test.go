package wirevectors

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const sample = "Text.\n\n" +
	"```vector\n" +
	"name:    ping\n" +
	"message: PingRequest   # a comment\n" +
	"Nonce:   42\n" +
	"hex:\n" +
	"  82     # array(2)\n" +
	"    03   # type\n" +
	"    18 2a\n" +
	"```\n\n" +
	"```vector\n" +
	"name:    frame\n" +
	"frame:   4\n" +
	"payload:\n" +
	"hex:     04 00\n" +
	"```\n\n" +
	"```vector\n" +
	"name:     req\n" +
	"frame:    5\n" +
	"request:  300   # a two-byte ID\n" +
	"payload:  2a\n" +
	"hex:      05 04 00 ac 02 2a\n" +
	"```\n\n" +
	"```vector\n" +
	"name:     resp\n" +
	"frame:    5\n" +
	"response: 7 2\n" +
	"payload:\n" +
	"hex:      05 03 01 07 02\n" +
	"```\n\n" +
	"```vector\n" +
	"name:   bad\n" +
	"reject: message\n" +
	"error:  trailing bytes\n" +
	"hex:    82 03 18 2a 00\n" +
	"```\n"

func TestParse(t *testing.T) {
	vs, err := Parse("doc.md", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 5 {
		t.Fatalf("got %d vectors, want 5", len(vs))
	}
	ping := vs[0]
	if ping.Kind != Message || ping.Type != "PingRequest" || ping.Line != 3 || !bytes.Equal(ping.Hex, []byte{0x82, 0x03, 0x18, 0x2a}) {
		t.Errorf("ping = %+v", ping)
	}
	if len(ping.Fields) != 1 || ping.Fields[0].Name != "Nonce" || ping.Fields[0].Value != json.Number("42") || ping.Fields[0].Line != 6 {
		t.Errorf("ping fields = %+v", ping.Fields)
	}
	if f := vs[1]; f.Kind != Frame || f.Channel != 4 || len(f.Payload) != 0 || !bytes.Equal(f.Hex, []byte{4, 0}) || f.Req != nil {
		t.Errorf("frame = %+v", f)
	}
	if f := vs[2]; f.Kind != Frame || f.Channel != 5 || !bytes.Equal(f.Payload, []byte{0x2a}) || f.Req == nil || *f.Req != (ReqHeader{ID: 300}) {
		t.Errorf("request frame = %+v (header %+v)", f, f.Req)
	}
	if f := vs[3]; f.Kind != Frame || len(f.Payload) != 0 || f.Req == nil || *f.Req != (ReqHeader{Response: true, ID: 7, Status: 2}) {
		t.Errorf("response frame = %+v (header %+v)", f, f.Req)
	}
	if r := vs[4]; r.Kind != RejectMessage || r.Error != "trailing bytes" {
		t.Errorf("reject = %+v", r)
	}
	if got, want := ping.Where(), `doc.md:3: vector "ping"`; got != want {
		t.Errorf("Where = %q, want %q", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, block, want string }{
		{"no name", "message: PingRequest\nhex: 00\n", "doc.md:1: vector \"\": no name"},
		{"no hex", "name: x\nmessage: PingRequest\n", "no hex"},
		{"two kinds", "name: x\nmessage: PingRequest\nreject: message\nerror: e\nhex: 00\n", "exactly one of"},
		{"bad hex", "name: x\nmessage: PingRequest\nhex: 0g\n", "hex (line 4)"},
		{"odd hex", "name: x\nmessage: PingRequest\nhex: 123\n", "odd number"},
		{"bad JSON", "name: x\nmessage: Hello\nNetwork: devnet\nhex: 00\n", "doc.md:4: field Network: the value is not JSON"},
		{"field twice", "name: x\nmessage: PingRequest\nNonce: 1\nNonce: 2\nhex: 00\n", "doc.md:5: field Nonce given twice"},
		{"field outside a message", "name: x\nreject: message\nNonce: 1\n", "doc.md:4: field Nonce before"},
		{"stray continuation", "name: x\n  more\n", "doc.md:3: an indented line"},
		{"frame without payload", "name: x\nframe: 0\nhex: 00 00\n", "needs a payload"},
		{"frame channel", "name: x\nframe: 256\npayload:\nhex: 00\n", "channel number"},
		{"request and response", "name: x\nframe: 5\nrequest: 1\nresponse: 1 0\npayload:\nhex: 00\n", "not both"},
		{"request ID", "name: x\nframe: 5\nrequest: -1\npayload:\nhex: 00\n", "request (line 4): want a request ID"},
		{"response without status", "name: x\nframe: 5\nresponse: 1\npayload:\nhex: 00\n", "response (line 4): want \"ID STATUS\""},
		{"response status", "name: x\nframe: 5\nresponse: 1 256\npayload:\nhex: 00\n", "want a status 0-255"},
		{"request in a message", "name: x\nmessage: PingRequest\nrequest: 1\nhex: 00\n", "request (line 4) does not belong"},
		{"reject without error", "name: x\nreject: frame\nhex: 00\n", "error"},
		{"payload in a message", "name: x\nmessage: PingRequest\npayload: 00\nhex: 00\n", "payload (line 4) does not belong"},
		{"not key value", "name: x\njust text\n", "doc.md:3: want \"key: value\""},
		{"unclosed", "name: x\nmessage: AddrListRequest\nhex: 81 05\n", "no closing"},
	} {
		doc := "```vector\n" + c.block
		if c.name != "unclosed" {
			doc += "```\n"
		}
		_, err := Parse("doc.md", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
	}
	dup := "```vector\nname: x\nmessage: AddrListRequest\nhex: 81 05\n```\n"
	if _, err := Parse("doc.md", []byte(dup+dup)); err == nil || !strings.Contains(err.Error(), "already used at line 1") {
		t.Errorf("duplicate names: err = %v", err)
	}
}

func TestAnnotate(t *testing.T) {
	b := []byte{0x82, 0x03, 0x18, 0x2a}
	got := Annotate(b, func(path []int) string {
		if len(path) == 1 && path[0] == 1 {
			return "Nonce"
		}
		return ""
	})
	want := "  82       # array(2)\n    03     #   3\n    18 2a  #   Nonce: 42\n"
	if got != want {
		t.Errorf("Annotate =\n%s\nwant\n%s", got, want)
	}
	// What is not CBOR is still shown, as hex.
	if got := Annotate([]byte{0x82, 0x03, 0xff}, nil); !strings.Contains(got, "ff") || !strings.Contains(got, "not CBOR") {
		t.Errorf("Annotate of bad bytes = %q", got)
	}
	if got := Annotate([]byte{0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil); !strings.Contains(got, "-18446744073709551616") {
		t.Errorf("Annotate of the smallest integer = %q", got)
	}
}
