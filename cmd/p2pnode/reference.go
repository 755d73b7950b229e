package main

import (
	"encoding"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/p2pcore/p2pcore/internal/configfile"
	"github.com/p2pcore/p2pcore/state"
)

// The configuration reference: what `p2pnode run --help` prints after the
// flags and what the README shows, both made here from the settings table
// and state.DefaultConfig.

// configIntro is the config file's format in a few lines.
const configIntro = `Config file (--config FILE): a JSON object; flags given on the command line win over it.
  network, listen, bootstrap, data_dir, record, checkpoint_every, record_payloads,
  log_level, log_format, websocket, seed, http: as the flags of the same name
  bans:     {"TARGET": "DURATION", …}, as --ban
  rules:    protocol settings by state.Config field name; a key left out keeps its default
  control:  the control channel (channel 0) by field name; a key left out keeps its default
  channels: the application's channels, numbered from 1, each in full (Name, Kind, Version,
            Priority, MaxSize, QueueLimit, Budget, Total, Validated); left out: the Mina preset
Durations are strings ("250ms", "10s", "1h"); sizes are numbers of bytes or strings with
KiB, MiB or GiB ("64KiB", "10MiB"). --print-defaults writes every default as a config file.`

// table is a reference table: a header and rows of cells.
type table struct {
	title  string
	header []string
	rows   [][]string
}

// referenceTables are the rules with their defaults and meanings, the
// fields of a channel and of a budget, and the default channels.
func referenceTables() []table {
	def := state.DefaultConfig("p2pcore")
	rules := table{title: "rules", header: []string{"key", "default", "meaning"}}
	cv := reflect.ValueOf(def)
	for i := range configType.NumField() {
		f := configType.Field(i)
		if _, ok := elsewhere[f.Name]; ok {
			continue
		}
		rules.rows = append(rules.rows, []string{f.Name, display(cv.Field(i), configType, f.Name), settingOf(configType, f.Name).doc})
	}
	fields := table{title: "channel keys (control and each of channels)", header: []string{"key", "meaning"}}
	for _, t := range []reflect.Type{channelType, budgetType} {
		for i := range t.NumField() {
			name := t.Field(i).Name
			if t == budgetType {
				name = "Budget." + name
			}
			fields.rows = append(fields.rows, []string{name, settingOf(t, t.Field(i).Name).doc})
		}
	}
	channels := table{title: "default channels (control, then the Mina preset)"}
	for i := range channelType.NumField() {
		channels.header = append(channels.header, channelType.Field(i).Name)
	}
	for _, ch := range def.Channels {
		v := reflect.ValueOf(ch)
		var row []string
		for i := range channelType.NumField() {
			row = append(row, display(v.Field(i), channelType, channelType.Field(i).Name))
		}
		channels.rows = append(channels.rows, row)
	}
	return []table{rules, fields, channels}
}

// display writes a default as a table shows it: as in the file, with
// sizes in units and budgets as rates.
func display(v reflect.Value, owner reflect.Type, field string) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return configfile.FormatDuration(x)
	case state.Budget:
		var parts []string
		if x.Msgs > 0 {
			parts = append(parts, fmt.Sprintf("%d msg/s", x.Msgs))
		}
		if x.Bytes > 0 {
			parts = append(parts, configfile.FormatSize(int64(x.Bytes))+"/s")
		}
		if len(parts) == 0 {
			return "unlimited"
		}
		return strings.Join(parts, ", ") + ", burst " + configfile.FormatDuration(x.Burst)
	case encoding.TextMarshaler:
		text, _ := x.MarshalText()
		return string(text)
	case string:
		return strconv.Quote(x)
	}
	switch settingOf(owner, field).unit {
	case unitBytes:
		return configfile.FormatSize(v.Int())
	case unitBytesPerSecond:
		return configfile.FormatSize(v.Int()) + "/s"
	}
	return fmt.Sprint(v.Interface())
}

// printConfigReference writes the reference as plain text, for --help.
func printConfigReference(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n", configIntro)
	for _, t := range referenceTables() {
		fmt.Fprintf(w, "\n%s:\n", strings.ToUpper(t.title[:1])+t.title[1:])
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		if len(t.header) > 3 { // the channel table: a header helps
			fmt.Fprintf(tw, "  %s\n", strings.Join(t.header, "\t"))
		}
		for _, r := range t.rows {
			fmt.Fprintf(tw, "  %s\n", strings.Join(r, "\t"))
		}
		tw.Flush()
	}
}

// markdownReference is the reference as the README shows it, between
// blank lines.
func markdownReference() string {
	var b strings.Builder
	for _, t := range referenceTables() {
		b.WriteString("\n")
		b.WriteString("**" + strings.ToUpper(t.title[:1]) + t.title[1:] + ":**\n\n")
		b.WriteString("| " + strings.Join(t.header, " | ") + " |\n")
		b.WriteString(strings.Repeat("|---", len(t.header)) + "|\n")
		for _, r := range t.rows {
			cells := make([]string, len(r))
			for j, c := range r {
				c = strings.ReplaceAll(c, "|", `\|`)
				if j == 0 {
					c = "`" + c + "`"
				}
				cells[j] = c
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
	b.WriteString("\n")
	return b.String()
}
