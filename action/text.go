package action

import (
	"encoding"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/state"
)

// The text form of an action is its kind name followed by its non-zero
// fields, e.g.
//
//	Connect Peer=B Addrs=[/ip4/10.0.0.2/tcp/4001]
//	MessageReceived Peer=B Channel=control Data=PingRequest{Nonce=7}
//
// Format writes it and Parse reads it back; the transcript tests are written
// in it and `p2pnode replay --trace` prints it. Payloads on the control
// channel are shown as the message they hold.

// Names is what a text form needs besides the action: the channels'
// names by number (state.Config.ChannelNames), which only the
// configuration knows. The zero Names writes and reads channels by
// number ("control", "ch3").
type Names struct {
	Channels []string
}

// NamesOf names cfg's channels.
func NamesOf(cfg *state.Config) Names { return Names{Channels: cfg.ChannelNames()} }

// Format returns the full text form of a, channels by number.
func Format(a Action) string { return Names{}.Format(a) }

// FormatShort is Format with long byte strings and lists abbreviated, for
// one-line output.
func FormatShort(a Action) string { return Names{}.FormatShort(a) }

// Parse reads the text form of an action, channels by number.
func Parse(s string) (Action, error) { return Names{}.Parse(s) }

// Format returns the full text form of a.
func (n Names) Format(a Action) string { return n.format(a, 0) }

// FormatShort is Format with long byte strings and lists abbreviated.
func (n Names) FormatShort(a Action) string { return n.format(a, 16) }

// Channel is the text form of a channel.
func (n Names) Channel(ch state.Channel) string {
	if int(ch) < len(n.Channels) && n.Channels[ch] != "" {
		return n.Channels[ch]
	}
	return ch.String()
}

// FormatMessage returns the text form of a control message.
func FormatMessage(m message.Message) string {
	var b strings.Builder
	b.WriteString(m.Type().String())
	w := textWriter{b: &b}
	w.writeStruct(reflect.ValueOf(m))
	return b.String()
}

// textWriter writes values in the text form.
type textWriter struct {
	b     *strings.Builder
	short int
	names Names
}

func (n Names) format(a Action, short int) string {
	var b strings.Builder
	w := textWriter{b: &b, short: short, names: n}
	b.WriteString(a.Kind().String())
	v := reflect.ValueOf(a)
	control := false
	if f := v.FieldByName("Channel"); f.IsValid() && f.Type() == reflect.TypeOf(state.Channel(0)) {
		control = state.Channel(f.Uint()) == state.ChannelControl
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		// Zero fields are left out, except a channel: "control" is its zero.
		if f.IsZero() && f.Type() != reflect.TypeOf(state.Channel(0)) {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(v.Type().Field(i).Name)
		b.WriteByte('=')
		if control && f.Type() == reflect.TypeOf([]byte(nil)) {
			if m, err := message.Decode(f.Bytes()); err == nil {
				b.WriteString(FormatMessage(m))
				continue
			}
		}
		w.writeValue(f)
	}
	return b.String()
}

var (
	textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
	durationType  = reflect.TypeOf(time.Duration(0))
	channelType   = reflect.TypeOf(state.Channel(0))
)

func (w *textWriter) writeValue(v reflect.Value) {
	b, short := w.b, w.short
	if v.Type() == channelType {
		writeString(b, w.names.Channel(state.Channel(v.Uint())))
		return
	}
	if v.Type() == durationType {
		b.WriteString(time.Duration(v.Int()).String())
		return
	}
	if v.Type().Implements(textMarshaler) {
		t, _ := v.Interface().(encoding.TextMarshaler).MarshalText()
		writeString(b, string(t))
		return
	}
	switch v.Kind() {
	case reflect.String:
		writeString(b, v.String())
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			data := v.Bytes()
			if short > 0 && len(data) > short {
				fmt.Fprintf(b, "0x%s…(%dB)", hex.EncodeToString(data[:short/2]), len(data))
				return
			}
			b.WriteString("0x")
			b.WriteString(hex.EncodeToString(data))
			return
		}
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if short > 0 && i == 4 && v.Len() > 5 {
				fmt.Fprintf(b, "…(%d)", v.Len())
				break
			}
			w.writeValue(v.Index(i))
		}
		b.WriteByte(']')
	case reflect.Struct:
		w.writeStruct(v)
	default:
		fmt.Fprintf(b, "%v", v.Interface())
	}
}

func (w *textWriter) writeStruct(v reflect.Value) {
	b := w.b
	b.WriteByte('{')
	first := true
	for i := 0; i < v.NumField(); i++ {
		if !v.Type().Field(i).IsExported() || v.Field(i).IsZero() {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(v.Type().Field(i).Name)
		b.WriteByte('=')
		w.writeValue(v.Field(i))
	}
	b.WriteByte('}')
}

// writeString writes s bare when the parser can read it back that way.
func writeString(b *strings.Builder, s string) {
	if s == "" || strings.ContainsAny(s, " \t\n\"=[]{},") || s == "true" || s == "false" {
		b.WriteString(strconv.Quote(s))
		return
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			b.WriteString(strconv.Quote(s))
			return
		}
	}
	b.WriteString(s)
}

// Parse reads the text form of an action; a channel may be given by name
// or by number.
func (n Names) Parse(s string) (Action, error) {
	p := &parser{s: s, names: n}
	name := p.word()
	k, ok := KindByName(name)
	if !ok {
		return nil, fmt.Errorf("unknown action %q", name)
	}
	zero, _ := Zero(k)
	v := reflect.New(reflect.TypeOf(zero)).Elem()
	if err := p.fields(v, false); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p.space()
	if !p.done() {
		return nil, fmt.Errorf("%s: unexpected %q at column %d", name, p.rest(), p.pos+1)
	}
	return v.Interface().(Action), nil
}

// ParseMessage reads the text form of a control message, e.g.
// "PingRequest{Nonce=7}".
func ParseMessage(s string) (message.Message, error) {
	p := &parser{s: s}
	m, err := p.message()
	if err != nil {
		return nil, err
	}
	if p.space(); !p.done() {
		return nil, fmt.Errorf("unexpected %q at column %d", p.rest(), p.pos+1)
	}
	return m, nil
}

var messageTypes = map[string]reflect.Type{
	"Hello": reflect.TypeOf(message.Hello{}), "HelloAck": reflect.TypeOf(message.HelloAck{}),
	"PingRequest": reflect.TypeOf(message.PingRequest{}), "PingResponse": reflect.TypeOf(message.PingResponse{}),
	"AddrListRequest": reflect.TypeOf(message.AddrListRequest{}), "AddrListResponse": reflect.TypeOf(message.AddrListResponse{}),
	"AddrAnnounce": reflect.TypeOf(message.AddrAnnounce{}), "Disconnect": reflect.TypeOf(message.Disconnect{}),
}

type parser struct {
	s     string
	pos   int
	names Names
}

func (p *parser) done() bool   { return p.pos >= len(p.s) }
func (p *parser) rest() string { return p.s[p.pos:] }
func (p *parser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.pos]
}

func (p *parser) space() {
	for !p.done() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// word reads up to a space or a delimiter.
func (p *parser) word() string {
	p.space()
	start := p.pos
	for !p.done() && !strings.ContainsRune(" \t=[]{},", rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// fields reads Name=value pairs into struct v until the end or a '}'.
func (p *parser) fields(v reflect.Value, braced bool) error {
	for {
		p.space()
		if p.done() || (braced && p.peek() == '}') {
			return nil
		}
		name := p.word()
		if name == "" || p.peek() != '=' {
			return fmt.Errorf("expected Field=value at column %d", p.pos+1)
		}
		p.pos++
		f := v.FieldByName(name)
		if !f.IsValid() || !f.CanSet() {
			return fmt.Errorf("no field %q", name)
		}
		if err := p.value(f); err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
	}
}

// token reads a quoted string or a bare word.
func (p *parser) token() (string, error) {
	if p.peek() == '"' {
		end := p.pos + 1
		for end < len(p.s) && p.s[end] != '"' {
			if p.s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(p.s) {
			return "", fmt.Errorf("unterminated string at column %d", p.pos+1)
		}
		s, err := strconv.Unquote(p.s[p.pos : end+1])
		p.pos = end + 1
		return s, err
	}
	return p.word(), nil
}

func (p *parser) message() (message.Message, error) {
	name := p.word()
	t, ok := messageTypes[name]
	if !ok || p.peek() != '{' {
		return nil, fmt.Errorf("unknown message %q", name)
	}
	v := reflect.New(t).Elem()
	if err := p.value(v); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v.Interface().(message.Message), nil
}

func (p *parser) value(v reflect.Value) error {
	if v.Type() == channelType {
		s, err := p.token()
		if err != nil {
			return err
		}
		for i, name := range p.names.Channels {
			if name == s && name != "" {
				v.SetUint(uint64(i))
				return nil
			}
		}
		var ch state.Channel
		if err := ch.UnmarshalText([]byte(s)); err != nil {
			return err
		}
		v.SetUint(uint64(ch))
		return nil
	}
	if v.Type() == durationType {
		s, err := p.token()
		if err != nil {
			return err
		}
		d, err := time.ParseDuration(s)
		v.SetInt(int64(d))
		return err
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		s, err := p.token()
		if err != nil {
			return err
		}
		return u.UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		s, err := p.token()
		v.SetString(s)
		return err
	case reflect.Bool:
		s, err := p.token()
		if err != nil {
			return err
		}
		b, err := strconv.ParseBool(s)
		v.SetBool(b)
		return err
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, err := p.token()
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(s, 0, v.Type().Bits())
		v.SetInt(n)
		return err
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, err := p.token()
		if err != nil {
			return err
		}
		n, err := strconv.ParseUint(s, 0, v.Type().Bits())
		v.SetUint(n)
		return err
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return p.bytes(v)
		}
		return p.list(v)
	case reflect.Struct:
		if p.peek() != '{' {
			return fmt.Errorf("expected '{' at column %d", p.pos+1)
		}
		p.pos++
		if err := p.fields(v, true); err != nil {
			return err
		}
		if p.peek() != '}' {
			return fmt.Errorf("expected '}' at column %d", p.pos+1)
		}
		p.pos++
		return nil
	}
	return fmt.Errorf("cannot parse a %s", v.Type())
}

// bytes reads 0x-hex, a quoted string, or a control message such as
// Hello{...}, which is encoded.
func (p *parser) bytes(v reflect.Value) error {
	switch {
	case p.peek() == '"':
		s, err := p.token()
		v.SetBytes([]byte(s))
		return err
	case strings.HasPrefix(p.rest(), "0x"):
		s := p.word()
		b, err := hex.DecodeString(s[2:])
		v.SetBytes(b)
		return err
	}
	m, err := p.message()
	if err != nil {
		return fmt.Errorf("want 0x-hex, a quoted string or a message: %w", err)
	}
	v.SetBytes(message.Marshal(m))
	return nil
}

// list reads [a,b,c], or a single element without brackets.
func (p *parser) list(v reflect.Value) error {
	elem := v.Type().Elem()
	out := reflect.MakeSlice(v.Type(), 0, 4)
	if p.peek() != '[' {
		e := reflect.New(elem).Elem()
		if err := p.value(e); err != nil {
			return err
		}
		v.Set(reflect.Append(out, e))
		return nil
	}
	p.pos++
	for {
		p.space()
		if p.peek() == ']' {
			p.pos++
			v.Set(out)
			return nil
		}
		e := reflect.New(elem).Elem()
		if err := p.value(e); err != nil {
			return err
		}
		out = reflect.Append(out, e)
		p.space()
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
		default:
			return fmt.Errorf("expected ',' or ']' at column %d", p.pos+1)
		}
	}
}
