package configfile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

type budget struct {
	Msgs  int
	Bytes int
	Burst time.Duration
}

type channel struct {
	Name    string
	Kind    state.ChannelKind
	Version uint32
	MaxSize int
	Budget  budget
}

type testConfig struct {
	Network  string                   `json:"network"`
	Count    int8                     `json:"count"`
	Big      uint16                   `json:"big"`
	Wait     time.Duration            `json:"wait"`
	On       bool                     `json:"on"`
	Tags     []string                 `json:"tags"`
	Bans     map[string]time.Duration `json:"bans"`
	Channels []channel                `json:"channels"`
	Ratio    float64                  `json:"ratio"`
	Secret   string                   `json:"-"`
	Ptr      *budget                  `json:"ptr"`
	Kept     string                   `json:"kept"`
	Fixed    string                   `json:"fixed"`
}

var testOpts = &Options{
	Size: func(owner reflect.Type, field string) bool {
		return owner == reflect.TypeFor[channel]() && field == "MaxSize" || owner == reflect.TypeFor[budget]() && field == "Bytes"
	},
	Refuse: func(owner reflect.Type, field string) string {
		if owner == reflect.TypeFor[testConfig]() && field == "Fixed" {
			return "set by --fixed"
		}
		return ""
	},
}

func decode(t *testing.T, src string, dst any) error {
	t.Helper()
	v, err := Parse("t.json", []byte(src))
	if err != nil {
		return err
	}
	return v.Decode("", dst, testOpts)
}

func TestDecodeEveryKind(t *testing.T) {
	src := `{
  "network": "devnet",
  "count": -7,
  "big": 65535,
  "wait": "1m30s",
  "on": true,
  "tags": ["a", "b"],
  "bans": {"203.0.113.7": "24h"},
  "channels": [
    {"Name": "block", "Kind": "broadcast", "Version": 2, "MaxSize": "10MiB",
     "Budget": {"Msgs": 10, "Bytes": "2 MiB", "Burst": "10s"}},
    {"Name": "sync", "MaxSize": 4096}
  ],
  "ratio": 0.5,
  "ptr": {"Msgs": 3}
}`
	got := testConfig{Kept: "default", Ptr: &budget{Bytes: 9}}
	if err := decode(t, src, &got); err != nil {
		t.Fatal(err)
	}
	want := testConfig{
		Network: "devnet", Count: -7, Big: 65535, Wait: 90 * time.Second, On: true,
		Tags: []string{"a", "b"}, Bans: map[string]time.Duration{"203.0.113.7": 24 * time.Hour},
		Channels: []channel{
			{Name: "block", Kind: state.Broadcast, Version: 2, MaxSize: 10 << 20, Budget: budget{10, 2 << 20, 10 * time.Second}},
			{Name: "sync", MaxSize: 4096},
		},
		Ratio: 0.5, Ptr: &budget{Msgs: 3, Bytes: 9}, Kept: "default",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	// An empty list is an empty list, not "no setting".
	var c testConfig
	if err := decode(t, `{"tags": []}`, &c); err != nil || c.Tags == nil || len(c.Tags) != 0 {
		t.Errorf("[]: got %#v, %v; want an empty, non-nil list", c.Tags, err)
	}
}

// Every mistake is reported with its file, line and column, and key path.
func TestDecodeErrorsSayWhere(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"empty", " \n", "t.json: the file is empty (want a JSON object)"},
		{"syntax", "{\n  \"network\": \"x\"\n  \"count\": 1\n}", `t.json:3:3: invalid character '"' after object key:value pair`},
		{"truncated", "{\n  \"tags\": [\n", "t.json:3:1: the file ends before the JSON value does"},
		{"trailing", "{\"count\": 1}\n}\n", "t.json:2:1: unexpected text after the JSON value"},
		{"duplicate", "{\"count\": 1,\n \"count\": 2}", `t.json:2:2: key "count" appears twice (first at 1:2)`},
		{"duplicate nested", "{\"ptr\": {\"Msgs\": 1, \"Msgs\": 2}}", `t.json:1:21: ptr: key "Msgs" appears twice (first at 1:10)`},
		{"not an object", "[1]", "t.json:1:1: want an object, got a list"},
		{"unknown", "{\n  \"netwrok\": \"x\"\n}", `t.json:2:3: unknown field "netwrok" (did you mean "network"?)`},
		{"unknown case", `{"Network": "x"}`, `t.json:1:2: unknown field "Network" (did you mean "network"?)`},
		{"unknown nested", "{\"channels\": [{}, {\"Budget\": {\"Burts\": \"1s\"}}]}", `t.json:1:31: channels[1].Budget: unknown field "Burts" (did you mean "Burst"?)`},
		{"unknown no guess", `{"zzz": 1}`, `t.json:1:2: unknown field "zzz"`},
		{"skipped field", `{"Secret": "x"}`, `t.json:1:2: unknown field "Secret"`},
		{"refused", "{\n \"fixed\": \"x\"}", "t.json:2:2: fixed: set by --fixed"},
		{"string for int", `{"count": "5"}`, `t.json:1:11: count: want a whole number, got string "5"`},
		{"fraction", `{"count": 1.5}`, "t.json:1:11: count: want a whole number, got 1.5"},
		{"exponent", `{"count": 1e2}`, "t.json:1:11: count: want a whole number, got 1e2"},
		{"int8 range", `{"count": 128}`, "t.json:1:11: count: 128 is out of range for int8 (-128 to 127)"},
		{"uint16 range", `{"big": 65536}`, "t.json:1:9: big: 65536 is out of range for uint16 (0 to 65535)"},
		{"negative uint", `{"big": -1}`, "t.json:1:9: big: -1 is out of range for uint16 (0 to 65535)"},
		{"huge", `{"channels": [{"Version": 99999999999999999999}]}`, "t.json:1:27: channels[0].Version: 99999999999999999999 is out of range for uint32 (0 to 4294967295)"},
		{"number for string", "{\n  \"network\": 5\n}", "t.json:2:14: network: want a string, got number 5"},
		{"bool", `{"on": "yes"}`, `t.json:1:8: on: want true or false, got string "yes"`},
		{"duration", "{\"channels\": [\n  {\"Budget\": {\"Burst\": \"5x\"}}\n]}", `t.json:2:24: channels[0].Budget.Burst: "5x": not a duration (want e.g. "500ms", "10s", "1h")`},
		{"duration number", `{"wait": 10}`, `t.json:1:10: wait: want a duration string like "10s", got number 10`},
		{"size", `{"channels": [{"MaxSize": "10MB"}]}`, `t.json:1:27: channels[0].MaxSize: "10MB": not a size (want a whole number of bytes, B, KiB, MiB or GiB, e.g. "10MiB")`},
		{"size bool", `{"channels": [{"MaxSize": true}]}`, `t.json:1:27: channels[0].MaxSize: want a number of bytes or a size like "10MiB", got true`},
		{"enum", `{"channels": [{"Kind": "multicast"}]}`, `t.json:1:24: channels[0].Kind: unknown channel kind (direct, broadcast or request) "multicast"`},
		{"enum number", `{"channels": [{"Kind": 1}]}`, `t.json:1:24: channels[0].Kind: want a string, got number 1`},
		{"list", `{"tags": "a"}`, `t.json:1:10: tags: want a list, got string "a"`},
		{"object", `{"ptr": [1]}`, `t.json:1:9: ptr: want an object, got a list`},
		{"null", `{"network": null}`, "t.json:1:13: network: null is not a setting here (leave the key out to keep the default)"},
		{"map key path", `{"bans": {"203.0.113.7": "soon"}}`, `t.json:1:26: bans["203.0.113.7"]: "soon": not a duration (want e.g. "500ms", "10s", "1h")`},
		{"several", "{\"count\": \"x\",\n \"big\": -1}", "t.json:1:11: count: want a whole number, got string \"x\"\nt.json:2:9: big: -1 is out of range for uint16 (0 to 65535)"},
		{"unicode column", "{\"network\": \"héllo\", \"count\": 1.5}", "t.json:1:31: count: want a whole number, got 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			err := decode(t, tc.src, &c)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			var fe *Error
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("%T is not an *Error", err)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"0", 0}, {"4096", 4096}, {"12B", 12}, {"64KiB", 64 << 10}, {"10 MiB", 10 << 20}, {"2GiB", 2 << 30}, {"-1KiB", -1024}} {
		if got, err := ParseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MiB", "10MB", "1.5MiB", "+1", "x", "99999999999GiB", "99999999999999999999"} {
		if n, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d; want an error", bad, n)
		}
	}
	for n, want := range map[int64]string{0: "0", 1000: "1000", 1024: "1KiB", 1536: "1536", 3 << 19: "1536KiB", 10 << 20: "10MiB", 1 << 30: "1GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q; want %q", n, got, want)
		}
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", time.Hour: "1h", 24 * time.Hour: "24h", 90 * time.Second: "90s",
		250 * time.Millisecond: "250ms", 1500 * time.Microsecond: "1500us", 7: "7ns", -time.Second: "-1s"} {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q; want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
}

func TestMarshalLayout(t *testing.T) {
	c := testConfig{Network: "devnet", Tags: []string{"a"}, Bans: map[string]time.Duration{"b": time.Hour, "a": time.Minute},
		Channels: []channel{{Name: "block", Kind: state.Broadcast, Version: 1, MaxSize: 10 << 20, Budget: budget{10, 2 << 20, 10 * time.Second}}},
		Secret:   "not written", Fixed: "refused, not written"}
	b, err := Marshal(c, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "network": "devnet",
  "count": 0,
  "big": 0,
  "wait": "0s",
  "on": false,
  "tags": ["a"],
  "bans": {"a": "1m", "b": "1h"},
  "channels": [
    {
      "Name": "block",
      "Kind": "broadcast",
      "Version": 1,
      "MaxSize": "10MiB",
      "Budget": {"Msgs": 10, "Bytes": "2MiB", "Burst": "10s"}
    }
  ],
  "ratio": 0,
  "kept": ""
}
`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}

// fill sets every settable leaf of rv to a value that differs from the
// zero value and, for numbers and strings, from every other leaf.
func fill(rv reflect.Value, n *int) {
	*n++
	t := rv.Type()
	switch {
	case t == durationType:
		rv.SetInt(int64(*n)*int64(time.Second) + int64(*n)*int64(time.Millisecond))
		return
	case t.Implements(textMarshalerType) && t.Kind() == reflect.Uint8:
		rv.SetUint(1) // an enum: its first non-zero value is always valid
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				fill(rv.Field(i), n)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(t, 2, 2)
		fill(s.Index(0), n)
		fill(s.Index(1), n)
		rv.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(t)
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		fill(k, n)
		fill(e, n)
		m.SetMapIndex(k, e)
		rv.Set(m)
	case reflect.String:
		rv.SetString("s" + strings.Repeat("x", *n))
	case reflect.Bool:
		rv.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		rv.SetInt(int64(*n) % 100 * 1024)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		rv.SetUint(uint64(*n) % 100)
	case reflect.Float32, reflect.Float64:
		rv.SetFloat(float64(*n) + 0.25)
	}
}

// roundTrip writes v and decodes it onto a zero value of its type.
func roundTrip(t *testing.T, v any, opts *Options) any {
	t.Helper()
	b, err := Marshal(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	root, err := Parse("rt.json", b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	back := reflect.New(reflect.TypeOf(v))
	if err := root.Decode("", back.Interface(), opts); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return back.Elem().Interface()
}

// Every field of state.Config, as it is today or with fields added later,
// survives being written and read back: the decoder knows no field names.
func TestStateConfigRoundTrip(t *testing.T) {
	sizes := &Options{Size: func(_ reflect.Type, field string) bool {
		return strings.Contains(field, "Size") || field == "Bytes" || strings.HasSuffix(field, "Memory")
	}}
	def := state.DefaultConfig("devnet")
	def.Bootnodes = []state.PeerAddr{{ID: "node-1", Addrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}}
	for _, opts := range []*Options{nil, sizes} {
		if got := roundTrip(t, def, opts); !reflect.DeepEqual(got, def) {
			t.Errorf("DefaultConfig: got\n%+v\nwant\n%+v", got, def)
		}
		var full state.Config
		n := 0
		fill(reflect.ValueOf(&full).Elem(), &n)
		if got := roundTrip(t, full, opts); !reflect.DeepEqual(got, full) {
			t.Errorf("every field set: got\n%+v\nwant\n%+v", got, full)
		}
	}
}
