package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/p2pcore/p2pcore/internal/configfile"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/state"
)

// runFile is the JSON config file of `p2pnode run --config FILE`, and the
// settings of `p2pnode run` however they are given. The command's own
// settings have the flags' names ('_' for '-'); the protocol's have their
// Go field names, decoded by reflection (package configfile), so a field
// added to state.Config or state.ChannelConfig is a key of the file with
// no change here. Flags given on the command line win over the file.
type runFile struct {
	Network         string                   `json:"network"`
	Listen          []string                 `json:"listen"`
	Bootstrap       []string                 `json:"bootstrap"`
	DataDir         string                   `json:"data_dir"`
	Record          string                   `json:"record"`
	CheckpointEvery uint64                   `json:"checkpoint_every"`
	RecordPayloads  string                   `json:"record_payloads"`
	LogLevel        string                   `json:"log_level"`
	LogFormat       string                   `json:"log_format"`
	WebSocket       bool                     `json:"websocket"`
	Seed            uint64                   `json:"seed"`
	HTTP            string                   `json:"http"`
	Bans            map[string]time.Duration `json:"bans"`
	// Rules are the protocol settings; a key left out keeps its default.
	// Its Network, IDs, Bootnodes and Channels are set otherwise
	// (elsewhere).
	Rules state.Config `json:"rules"`
	// Control is the control channel, channel 0; a key left out keeps
	// its default.
	Control state.ChannelConfig `json:"control"`
	// Channels are the application's channels, numbered from 1, each
	// given in full. Left out: the Mina preset (state.MinaChannels).
	Channels []state.ChannelConfig `json:"channels"`
}

// defaultRunFile is what `p2pnode run` does with no flags and no file.
func defaultRunFile() runFile {
	rules := state.DefaultConfig("p2pcore")
	return runFile{
		Network:         rules.Network,
		Listen:          append([]string(nil), node.DefaultListen...),
		Bootstrap:       []string{},
		CheckpointEvery: 4096,
		RecordPayloads:  "digest",
		LogLevel:        "info",
		LogFormat:       "text",
		Bans:            map[string]time.Duration{},
		Rules:           rules,
		Control:         rules.Channels[0],
		Channels:        rules.Channels[1:],
	}
}

// fileOptions tell package configfile which numbers are sizes and which
// fields of state.Config the file sets under other keys.
var fileOptions = &configfile.Options{
	Size: func(owner reflect.Type, field string) bool { return settingOf(owner, field).unit != unitPlain },
	Refuse: func(owner reflect.Type, field string) string {
		if owner == configType {
			return elsewhere[field]
		}
		return ""
	},
}

// protocolRules is the state.Config the settings give: the rules, with
// the network, and the control channel followed by the application's.
func (rf *runFile) protocolRules() state.Config {
	r := rf.Rules
	r.Network = rf.Network
	r.Channels = append([]state.ChannelConfig{rf.Control}, rf.Channels...)
	return r
}

// readRunFile reads the config file at path onto the defaults. It
// returns the file's tree too, to place later mistakes in it.
func readRunFile(path string) (runFile, *configfile.Value, error) {
	rf := defaultRunFile()
	data, err := os.ReadFile(path)
	if err != nil {
		return rf, nil, fmt.Errorf("config: %w", err)
	}
	root, err := configfile.Parse(path, data)
	if err != nil {
		return rf, nil, inConfig(err)
	}
	if root.Kind() != configfile.Object {
		return rf, nil, inConfig(root.Errorf("", "want a JSON object, got %s", root.Kind()))
	}
	if err := root.Decode("", &rf, fileOptions); err != nil {
		return rf, nil, inConfig(err)
	}
	return rf, root, inConfig(checkRunFile(&rf, root))
}

// checkRunFile checks what the types let through and the command does
// not take.
func checkRunFile(rf *runFile, root *configfile.Value) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, root.Get(key).Errorf(key, format, args...))
	}
	if v := root.Get("checkpoint_every"); v != nil && rf.CheckpointEvery == 0 {
		bad("checkpoint_every", "must be at least 1")
	}
	if v := root.Get("record_payloads"); v != nil && rf.RecordPayloads != "digest" && rf.RecordPayloads != "full" {
		bad("record_payloads", "%q: want digest or full", rf.RecordPayloads)
	}
	var l slog.Level
	if v := root.Get("log_level"); v != nil && l.UnmarshalText([]byte(rf.LogLevel)) != nil {
		bad("log_level", "%q: want debug, info, warn or error", rf.LogLevel)
	}
	if v := root.Get("log_format"); v != nil && rf.LogFormat != "text" && rf.LogFormat != "json" {
		bad("log_format", "%q: want text or json", rf.LogFormat)
	}
	bans := root.Get("bans")
	for _, target := range bans.Keys() {
		v, path := bans.Get(target), configfile.JoinKey("bans", target)
		if _, err := reducer.BanTarget(state.IDsLibp2p, target); err != nil {
			errs = append(errs, &configfile.Error{File: v.File(), Pos: v.KeyPos(), Path: path,
				Msg: "want a peer ID (in its canonical form, 12D3KooW… or Qm…), an IP address or a multiaddr"})
		} else if d := rf.Bans[target]; d <= 0 {
			errs = append(errs, v.Errorf(path, `%s: want a positive duration like "24h"`, configfile.FormatDuration(d)))
		}
	}
	return errors.Join(errs...)
}

// validateRules runs state.Config.Validate and places each of its
// complaints in the file: at the key that sets the field, or else at the
// closest enclosing key the file has.
func validateRules(r *state.Config, root *configfile.Value) error {
	err := r.Validate()
	if err == nil {
		return nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var errs []error
	for _, e := range list {
		field, msg, ok := strings.Cut(strings.TrimPrefix(e.Error(), "config "), ": ")
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %v", root.File(), e))
			continue
		}
		path, at := placeField(field, root)
		if at == nil {
			errs = append(errs, &configfile.Error{File: root.File(), Path: path, Msg: msg})
		} else {
			errs = append(errs, at.Errorf(path, "%s", msg))
		}
	}
	return inConfig(errors.Join(errs...))
}

var (
	channelField = regexp.MustCompile(`^Channels\[(\d+)\]( \([^)]*\))?`)
	fieldPart    = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$`)
	channelNote  = regexp.MustCompile(` \([^)]*\)`)
)

// placeField turns a state.Config field as Validate names it
// ("PingTimeout", "Channels[2] (block).Budget.Burst") into the file's key
// path ("rules.PingTimeout", "channels[1] (block).Budget.Burst") and the
// value of the file closest to it: the key itself, or the nearest key
// around it that the file has (nil if none).
func placeField(field string, root *configfile.Value) (string, *configfile.Value) {
	path := "rules." + field
	switch {
	case field == "Network":
		path = "network"
	case field == "Channels":
		path = "channels"
	case strings.HasPrefix(field, "Bootnodes"):
		path = "bootstrap" + strings.TrimPrefix(field, "Bootnodes")
	case channelField.MatchString(field):
		m := channelField.FindStringSubmatch(field)
		rest := field[len(m[0]):]
		if i, _ := strconv.Atoi(m[1]); i == 0 {
			path = "control" + rest
		} else {
			path = fmt.Sprintf("channels[%d]%s%s", i-1, m[2], rest)
		}
	}
	// Walk the file along the path, names in parentheses left out.
	var at *configfile.Value
	v := root
	for part := range strings.SplitSeq(channelNote.ReplaceAllString(path, ""), ".") {
		m := fieldPart.FindStringSubmatch(part)
		if m == nil {
			break
		}
		if v = v.Get(m[1]); v == nil {
			break
		}
		at = v
		if m[2] != "" {
			i, _ := strconv.Atoi(m[2])
			if v = v.Index(i); v == nil {
				break
			}
			at = v
		}
	}
	return path, at
}

// inConfig prefixes every error of a config file with "config ".
func inConfig(err error) error {
	if err == nil {
		return nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("config %w", e)
	}
	return errors.Join(out...)
}

// printDefaults writes every default as a config file.
func printDefaults(w io.Writer) error {
	b, err := configfile.Marshal(defaultRunFile(), fileOptions)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readRules reads `p2pnode sim --rules FILE`: a JSON object of protocol
// settings, the keys of run's "rules", onto the defaults of network.
func readRules(path, network string) (state.Config, error) {
	rules := state.DefaultConfig(network)
	data, err := os.ReadFile(path)
	if err != nil {
		return rules, fmt.Errorf("--rules: %w", err)
	}
	root, err := configfile.Parse(path, data)
	if err != nil {
		return rules, inConfig(err)
	}
	if root.Kind() != configfile.Object {
		return rules, inConfig(root.Errorf("", "want a JSON object, got %s", root.Kind()))
	}
	if err := root.Decode("", &rules, fileOptions); err != nil {
		return rules, inConfig(err)
	}
	err = rules.Validate()
	if err == nil {
		return rules, nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var errs []error
	for _, e := range list {
		// "config Field: message", placed at the file's key when it has it.
		field, msg, ok := strings.Cut(strings.TrimPrefix(e.Error(), "config "), ": ")
		key, _, _ := strings.Cut(field, ".")
		if v := root.Get(key); ok && v != nil {
			errs = append(errs, v.Errorf(field, "%s", msg))
		} else {
			errs = append(errs, &configfile.Error{File: root.File(), Path: field, Msg: msg})
		}
	}
	return rules, inConfig(errors.Join(errs...))
}
