package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// Every field of the structs a config file sets has its line in the
// settings table (or, for state.Config, is set elsewhere), and the table
// names no field that does not exist.
func TestSettingsDocumentEveryField(t *testing.T) {
	for _, typ := range []reflect.Type{configType, channelType, budgetType} {
		fields := map[string]bool{}
		for i := range typ.NumField() {
			name := typ.Field(i).Name
			fields[name] = true
			_, documented := settings[typ][name]
			_, other := elsewhere[name]
			switch {
			case typ == configType && other && documented:
				t.Errorf("state.Config.%s is in the settings table and set elsewhere: which?", name)
			case !documented && !(typ == configType && other):
				t.Errorf("%s.%s has no line in cmd/p2pnode/settings.go: add one (the config file already takes it)", typ, name)
			case documented && strings.TrimSpace(settings[typ][name].doc) == "":
				t.Errorf("%s.%s: empty documentation", typ, name)
			}
		}
		for name := range settings[typ] {
			if !fields[name] {
				t.Errorf("settings table: %s has no field %s", typ, name)
			}
		}
		if typ == configType {
			for name := range elsewhere {
				if !fields[name] {
					t.Errorf("elsewhere: state.Config has no field %s", name)
				}
			}
		}
	}
}

// --help prints every rule with its default, and every channel.
func TestRunHelpShowsReference(t *testing.T) {
	r := cli("run", "-h")
	if r.code != 0 {
		t.Fatalf("run -h\n%v", r)
	}
	for _, tb := range referenceTables() {
		for _, row := range tb.rows {
			if !strings.Contains(r.stdout, "  "+row[0]+" ") || !strings.Contains(r.stdout, row[1]) {
				t.Errorf("run -h does not show %q with %q", row[0], row[1])
			}
		}
	}
	for _, want := range []string{"--print-defaults", "rules:", "control:", "channels:", `"10MiB"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("run -h does not mention %s", want)
		}
	}
}

// --print-defaults writes a complete config file that reads back to
// exactly the defaults: every field of state.Config through the decoder.
func TestPrintDefaultsRoundTrip(t *testing.T) {
	r := cli("run", "--print-defaults")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("run --print-defaults\n%v", r)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "defaults.json"), r.stdout)
	rf, root, err := readRunFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultRunFile(); !reflect.DeepEqual(rf, want) {
		t.Errorf("defaults read back:\n%+v\nwant\n%+v", rf, want)
	}
	rules := rf.protocolRules()
	if want := state.DefaultConfig("p2pcore"); !reflect.DeepEqual(rules, want) {
		t.Errorf("rules read back:\n%+v\nwant\n%+v", rules, want)
	}
	if err := validateRules(&rules, root); err != nil {
		t.Error(err)
	}
	// Every key of rules is in the file.
	written := map[string]bool{}
	for _, k := range root.Get("rules").Keys() {
		written[k] = true
	}
	for i := range configType.NumField() {
		name := configType.Field(i).Name
		if _, other := elsewhere[name]; !other && !written[name] {
			t.Errorf("--print-defaults leaves out rules.%s", name)
		}
	}
}

// An application's channels replace the preset, the control channel is
// tuned key by key, and the rules change only what they name.
func TestConfigCustomChannels(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "app.json"), `{
  "network": "appnet",
  "rules": {"OutboundTarget": 12, "PingInterval": "30s", "MaxMessageSize": "16MiB"},
  "control": {"Budget": {"Msgs": 40}},
  "channels": [
    {"Name": "blocks", "Kind": "broadcast", "Version": 3, "Priority": true, "MaxSize": "2MiB", "QueueLimit": 64,
     "Budget": {"Msgs": 10, "Bytes": "4MiB", "Burst": "10s"}, "Total": {"Msgs": 100, "Bytes": 8388608, "Burst": "3s"},
     "Validated": true},
    {"Name": "rpc", "Kind": "request", "Version": 1, "MaxSize": 1048576, "QueueLimit": 256,
     "Budget": {"Msgs": 100, "Bytes": "16 MiB", "Burst": "5s"}}
  ]
}`)
	rf, root, err := readRunFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := rf.protocolRules()
	if err := validateRules(&got, root); err != nil {
		t.Fatal(err)
	}
	want := state.DefaultConfig("appnet")
	want.OutboundTarget, want.PingInterval, want.MaxMessageSize = 12, 30*time.Second, 16*state.MiB
	control := state.ControlChannel()
	control.Budget.Msgs = 40
	want.Channels = []state.ChannelConfig{control,
		{Name: "blocks", Kind: state.Broadcast, Version: 3, Priority: true, MaxSize: 2 * state.MiB, QueueLimit: 64,
			Budget:    state.Budget{Msgs: 10, Bytes: 4 * state.MiB, Burst: 10 * time.Second},
			Total:     state.Budget{Msgs: 100, Bytes: 8 * state.MiB, Burst: 3 * time.Second},
			Validated: true},
		{Name: "rpc", Kind: state.Request, Version: 1, MaxSize: state.MiB, QueueLimit: 256,
			Budget: state.Budget{Msgs: 100, Bytes: 16 * state.MiB, Burst: 5 * time.Second}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}

	// "channels": [] leaves control alone.
	path = writeFile(t, filepath.Join(t.TempDir(), "none.json"), `{"channels": []}`)
	if rf, _, err = readRunFile(path); err != nil {
		t.Fatal(err)
	}
	if r := rf.protocolRules(); len(r.Channels) != 1 || r.Channels[0] != state.ControlChannel() {
		t.Errorf(`"channels": []: got channels %v, want control alone`, r.ChannelNames())
	}
}

// Every mistake in a config file is one line naming the file, the line
// and column, and the key path; state.Config.Validate's complaints are
// placed at the key they are about.
func TestRunConfigErrorsSayWhere(t *testing.T) {
	dir, _ := keyedDir(t)
	tmp := t.TempDir()
	for _, tc := range []struct{ name, src, want string }{
		{"unknown rule", "{\"rules\": {\n  \"OutbondTarget\": 3}}",
			`{f}:2:3: rules: unknown field "OutbondTarget" (did you mean "OutboundTarget"?)`},
		{"duration", "{\"channels\": [\n  {\"Name\": \"a\", \"Budget\": {\"Burst\": \"5x\"}}]}",
			`{f}:2:37: channels[0].Budget.Burst: "5x": not a duration (want e.g. "500ms", "10s", "1h")`},
		{"wrong type", `{"control": {"Priority": "yes"}}`,
			`{f}:1:26: control.Priority: want true or false, got string "yes"`},
		{"out of range", `{"rules": {"ProtocolVersion": -2}}`,
			`{f}:1:31: rules.ProtocolVersion: -2 is out of range for uint32 (0 to 4294967295)`},
		{"kind", `{"channels": [{"Name": "a", "Kind": "gossip"}]}`,
			`{f}:1:37: channels[0].Kind: unknown channel kind (direct, broadcast or request) "gossip"`},
		{"set elsewhere", "{\"rules\": {\"Network\": \"x\"}}",
			`{f}:1:12: rules.Network: set by the top-level "network" (or --network)`},
		{"channels in rules", "{\"rules\": {\"Channels\": []}}",
			`{f}:1:12: rules.Channels: set by the top-level "control" (channel 0) and "channels" (the application's)`},
		{"validate", "{\"rules\": {\n  \"PingTimeout\": \"-1s\"}}",
			`{f}:2:18: rules.PingTimeout: is -1s; must be positive`},
		{"validate, missing key", "{\"rules\": {\"BackoffBase\": \"2h\"}}",
			`{f}:1:11: rules.BackoffCap: 1h0m0s is below BackoffBase 2h0m0s`},
		{"validate channel", "{\"channels\": [\n  {\"Name\": \"chat\", \"Kind\": \"direct\", \"Version\": 1, \"MaxSize\": 100, \"QueueLimit\": 0}]}",
			`{f}:2:82: channels[0] (chat).QueueLimit: is 0; must be positive`},
		{"validate channel, missing key", "{\"channels\": [\n  {\"Name\": \"chat\", \"MaxSize\": 100, \"QueueLimit\": 1}]}",
			`{f}:2:3: channels[0] (chat).Version: must be at least 1`},
		{"validate control", `{"control": {"Name": "ctl"}}`,
			`{f}:1:13: control: must be the control channel (state.ControlChannel())`},
		{"validate network", `{"network": ""}`, `{f}:1:13: network: must not be empty`},
		{"validate, no place", `{"rules": {"MaxMessageSize": "4MiB"}}`,
			`{f}: channels[0] (block).MaxSize: is 10485760; must be in 1..MaxMessageSize (4194304); ` +
				`config {f}: channels[3] (sync).MaxSize: is 10485760; must be in 1..MaxMessageSize (4194304)`},
		{"ban duration", `{"bans": {"203.0.113.7": "-1h"}}`, `{f}:1:26: bans["203.0.113.7"]: -1h: want a positive duration like "24h"`},
		{"ban target", `{"bans": {"nobody": "1h"}}`,
			`{f}:1:11: bans.nobody: want a peer ID (in its canonical form, 12D3KooW… or Qm…), an IP address or a multiaddr`},
		{"log level", `{"log_level": "loud"}`, `{f}:1:15: log_level: "loud": want debug, info, warn or error`},
		{"checkpoint", `{"checkpoint_every": 0}`, `{f}:1:22: checkpoint_every: must be at least 1`},
		{"not an object", `["x"]`, `{f}:1:1: want a JSON object, got a list`},
		{"several", "{\"rules\": {\"OutboundTarget\": \"8\",\n  \"MaxInbound\": 1.5}}",
			`{f}:1:30: rules.OutboundTarget: want a whole number, got string "8"; config {f}:2:17: rules.MaxInbound: want a whole number, got 1.5`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, filepath.Join(tmp, strings.ReplaceAll(tc.name, " ", "_")+".json"), tc.src)
			r := runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", cfg)
			want := "p2pnode run: config " + strings.ReplaceAll(tc.want, "{f}", cfg) + "\n"
			if r.code != 1 || r.stderr != want {
				t.Errorf("got  %q\nwant %q\n%v", r.stderr, want, r)
			}
		})
	}
}
