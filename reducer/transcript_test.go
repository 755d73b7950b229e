package reducer_test

import (
	"bufio"
	"encoding"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// Transcript tests, after etcd raft's datadriven interaction tests: each
// file under testdata/transcripts is a sequence of commands, each followed
// by "----" and the trace it must produce — every action dispatched (inputs
// flush left, derived actions indented under their parent) and every
// service command ("→ …") an effect issued. Run with -rewrite to regenerate
// the expected traces after a deliberate change, then review the diff.
//
// Commands:
//
//	config Field=value …       set state.Config fields (before the first action)
//	channel NAME Field=value … set a channel's config fields (likewise); a
//	                           new NAME adds a channel after the others
//	boot ID ADDR               add a bootnode (before the first action)
//	input ACTION               dispatch an input action in its text form
//	recv PEER MESSAGE          a control message from PEER, e.g. PingRequest{Nonce=7}
//	tick [DURATION]            advance the clock, then dispatch Tick
//	at DURATION                advance the clock without an action
//	peers                      one line per peer
//	state PATH                 a subtree of the state as JSON
//
// In actions and messages, $hello(P) and $ping(P) stand for the current
// Hello and ping nonces of peer P, and $now for the clock in Unix seconds.
var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of transcript tests")

// transcriptEpoch is where transcript time starts: 2026-01-01T00:00:00Z.
const transcriptEpoch = int64(1767225600) * int64(time.Second)

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts found: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runTranscript(t, file) })
	}
}

type block struct {
	line     int
	command  string
	expected string
}

func runTranscript(t *testing.T, file string) {
	blocks, header := parseTranscript(t, file)
	h := newHarness()
	var out strings.Builder
	out.WriteString(header)
	failed := false
	for _, b := range blocks {
		got := h.run(b.command)
		if !*rewrite && got != b.expected {
			failed = true
			t.Errorf("%s:%d: %s\n--- want\n%s--- got\n%s", file, b.line, b.command, b.expected, got)
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n", b.command, got)
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if failed {
		t.Logf("run `go test ./reducer -run TestTranscripts -rewrite` to accept the new output after reviewing it")
	}
}

// parseTranscript splits a file into command blocks; comment and blank
// lines before the first command are kept as the header.
func parseTranscript(t *testing.T, file string) ([]block, string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []block
		header strings.Builder
		cur    *block
		inOut  bool
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur == nil && (line == "" || strings.HasPrefix(line, "#")):
			if len(blocks) == 0 {
				header.WriteString(line + "\n")
			}
		case cur == nil:
			blocks = append(blocks, block{line: n, command: line})
			cur = &blocks[len(blocks)-1]
		case !inOut && line == "----":
			inOut = true
		case !inOut:
			t.Fatalf("%s:%d: a command takes one line; expected ----", file, n)
		case line == "":
			cur, inOut = nil, false
		default:
			cur.expected += line + "\n"
		}
	}
	return blocks, header.String()
}

// harness holds one store and renders what it does.
type harness struct {
	cfg   state.Config
	st    *store.Store
	clock *fixedClock
	out   strings.Builder
	depth map[uint64]int
	cur   int // depth of the action being applied
}

type fixedClock struct{ t int64 }

func (c *fixedClock) Now() int64 { return c.t }

func newHarness() *harness {
	cfg := state.DefaultConfig("testnet")
	return &harness{cfg: cfg, clock: &fixedClock{t: transcriptEpoch}, depth: map[uint64]int{}}
}

// self is the node under test.
var self = state.Self{ID: "self", ListenAddrs: []state.Addr{"/ip4/10.0.0.1/tcp/4001"}}

func (h *harness) store() *store.Store {
	if h.st == nil {
		if err := h.cfg.Validate(); err != nil {
			panic(err)
		}
		st := state.New(h.cfg, self, 1, h.clock.t)
		h.st = store.New(st, nil, h.clock, store.Options{Observer: (*traceObserver)(h), CheckInvariants: true})
	}
	return h.st
}

func (h *harness) run(command string) string {
	h.out.Reset()
	verb, arg, _ := strings.Cut(command, " ")
	arg = h.expand(arg)
	switch verb {
	case "config":
		if h.st != nil {
			return "error: config after the first action\n"
		}
		if err := setFields(&h.cfg, arg); err != nil {
			return "error: " + err.Error() + "\n"
		}
		return "ok\n"
	case "channel":
		if h.st != nil {
			return "error: config after the first action\n"
		}
		name, fields, _ := strings.Cut(arg, " ")
		ch, ok := h.cfg.ChannelByName(name)
		if !ok {
			// A new channel, after the others.
			h.cfg.Channels = append(h.cfg.Channels, state.ChannelConfig{Name: name, Version: 1})
			ch = state.Channel(len(h.cfg.Channels) - 1)
		}
		if err := setFields(&h.cfg.Channels[ch], fields); err != nil {
			return "error: " + err.Error() + "\n"
		}
		return "ok\n"
	case "boot":
		id, addr, _ := strings.Cut(arg, " ")
		h.cfg.Bootnodes = append(h.cfg.Bootnodes, state.PeerAddr{ID: state.PeerID(id), Addrs: []state.Addr{state.Addr(addr)}})
		return "ok\n"
	case "input":
		a, err := action.NamesOf(&h.cfg).Parse(arg)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		h.dispatch(a)
	case "recv":
		peer, text, _ := strings.Cut(arg, " ")
		m, err := action.ParseMessage(text)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		h.dispatch(action.MessageReceived{Peer: state.PeerID(peer), Channel: state.ChannelControl, Data: message.Marshal(m)})
	case "tick", "at":
		if arg != "" {
			d, err := time.ParseDuration(arg)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			h.clock.t += int64(d)
		}
		if verb == "tick" {
			h.dispatch(action.Tick{})
		} else {
			fmt.Fprintf(&h.out, "now %s\n", h.elapsed(h.clock.t))
		}
	case "peers":
		h.peers()
	case "state":
		b, err := replay.StateJSON(h.store().State(), arg)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		h.out.Write(b)
		h.out.WriteString("\n")
	default:
		return fmt.Sprintf("error: unknown command %q\n", verb)
	}
	if n, err := h.store().Violations(); n > 0 {
		fmt.Fprintf(&h.out, "INVARIANT VIOLATED: %v\n", err)
	}
	return h.out.String()
}

func (h *harness) dispatch(a action.Action) {
	if _, err := h.store().Dispatch(a); err != nil {
		fmt.Fprintf(&h.out, "  (not enabled: %v)\n", err)
	}
}

var macro = regexp.MustCompile(`\$(hello|ping)\(([^)]*)\)`)

// expand replaces $hello(P) and $ping(P) with the peer's nonces, $now
// with the clock in Unix seconds, and $channels with the node's own
// channel list as a Hello carries it (a peer with the same channels).
func (h *harness) expand(s string) string {
	s = strings.ReplaceAll(s, "$now", fmt.Sprint(h.clock.t/int64(time.Second)))
	if strings.Contains(s, "$channels") {
		var list []string
		for _, c := range message.ChannelInfos(&h.cfg) {
			list = append(list, c.String())
		}
		s = strings.ReplaceAll(s, "$channels", "["+strings.Join(list, ",")+"]")
	}
	return macro.ReplaceAllStringFunc(s, func(m string) string {
		parts := macro.FindStringSubmatch(m)
		p, ok := h.store().State().Peers[state.PeerID(parts[2])]
		if !ok {
			return "0"
		}
		if parts[1] == "hello" {
			return fmt.Sprint(p.Handshake.Nonce)
		}
		return fmt.Sprint(p.Ping.Nonce)
	})
}

func (h *harness) elapsed(t int64) string {
	return "+" + time.Duration(t-transcriptEpoch).String()
}

func (h *harness) peers() {
	st := h.store().State()
	if len(st.Peers) == 0 {
		h.out.WriteString("no peers\n")
	}
	for _, id := range state.SortedKeys(st.Peers) {
		p := st.Peers[id]
		fmt.Fprintf(&h.out, "%s %s %s since %s", id, p.Dir, p.Status, h.elapsed(p.Since))
		if p.Manual {
			h.out.WriteString(" manual")
		}
		if p.Score > 0 {
			fmt.Fprintf(&h.out, " score=%d", p.Score)
		}
		if p.Reason != state.ReasonNone {
			fmt.Fprintf(&h.out, " reason=%q", p.Reason)
		}
		if p.Ping.Outstanding {
			h.out.WriteString(" ping-outstanding")
		}
		if p.Throttled {
			h.out.WriteString(" throttled")
		}
		if p.Ping.RTT > 0 {
			fmt.Fprintf(&h.out, " rtt=%s", time.Duration(p.Ping.RTT))
		}
		h.out.WriteString("\n")
	}
}

// traceObserver prints each action as the store dispatches it.
type traceObserver harness

func (o *traceObserver) Input(m action.Meta, a action.Action) {
	h := (*harness)(o)
	h.depth[m.ID], h.cur = 0, 0
	fmt.Fprintf(&h.out, "#%d %s %s\n", m.ID, h.elapsed(m.Time), action.NamesOf(&h.cfg).Format(a))
}

func (o *traceObserver) Derived(m action.Meta, a action.Action, dropped bool) {
	h := (*harness)(o)
	d := h.depth[m.Parent] + 1
	h.depth[m.ID], h.cur = d, d
	line := fmt.Sprintf("%s#%d %s", strings.Repeat("  ", d), m.ID, action.NamesOf(&h.cfg).Format(a))
	if dropped {
		line += fmt.Sprintf(" (dropped: %v)", reducer.Enabled(h.st.State(), a))
	}
	h.out.WriteString(line + "\n")
}

func (o *traceObserver) Checkpoint(uint64, state.Hash, []state.SectionHash) {}

// Commands prints the commands an action's effects produced, under it.
func (o *traceObserver) Commands(_ action.Meta, _ action.Action, cmds []service.Command) {
	h := (*harness)(o)
	for _, c := range cmds {
		fmt.Fprintf(&h.out, "%s  → %s\n", strings.Repeat("  ", h.cur), service.FormatCommandNamed(c, action.NamesOf(&h.cfg)))
	}
}

// setFields sets "Field=value" pairs on a struct through the action text
// parser's rules (durations, numbers, bools, strings).
func setFields(target any, s string) error {
	for _, kv := range strings.Fields(s) {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("want Field=value, got %q", kv)
		}
		f := reflect.ValueOf(target).Elem()
		for _, part := range strings.Split(name, ".") {
			if f.Kind() != reflect.Struct {
				return fmt.Errorf("no config field %q", name)
			}
			f = f.FieldByName(part)
			if !f.IsValid() {
				return fmt.Errorf("no config field %q", name)
			}
		}
		if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
			if err := u.UnmarshalText([]byte(value)); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			continue
		}
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			if f.Type() == reflect.TypeOf(time.Duration(0)) {
				d, err := time.ParseDuration(value)
				if err != nil {
					return err
				}
				f.SetInt(int64(d))
				continue
			}
			var n int64
			if _, err := fmt.Sscan(value, &n); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			f.SetInt(n)
		case reflect.Uint8, reflect.Uint32, reflect.Uint64:
			var n uint64
			if _, err := fmt.Sscan(value, &n); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			f.SetUint(n)
		case reflect.String:
			f.SetString(value)
		case reflect.Bool:
			f.SetBool(value == "true")
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.String {
				return fmt.Errorf("config field %s cannot be set here", name)
			}
			// A list of names, comma-separated: Capabilities=archival,relay.
			list := reflect.MakeSlice(f.Type(), 0, 0)
			for _, v := range strings.Split(value, ",") {
				if v != "" {
					list = reflect.Append(list, reflect.ValueOf(v).Convert(f.Type().Elem()))
				}
			}
			f.Set(list)
		default:
			return fmt.Errorf("config field %s cannot be set here", name)
		}
	}
	return nil
}
