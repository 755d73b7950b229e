package main

// These tests drive the p2pnode command line in-process through realMain,
// with bytes.Buffers for stdout and stderr. The only network they use is
// 127.0.0.1: every `run` gets --listen on 127.0.0.1 and --data-dir in a
// temporary directory, so nothing touches $HOME or port 4001.
//
// None of them is parallel: `run` and `demo` set go-libp2p's process-wide
// log handler, and a started node is stopped the way Ctrl-C stops it, by
// interrupting this process.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/replay"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
)

// result is what one command did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs a command that returns by itself.
func cli(args ...string) result {
	var out, errb bytes.Buffer
	code := realMain(args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// wantOneLine checks that a command failed with the given exit status
// (0: any non-zero status) and exactly one line on stderr, "p2pnode CMD: …",
// that contains every one of wants.
func wantOneLine(t *testing.T, r result, cmd string, code int, wants ...string) {
	t.Helper()
	switch {
	case code == 0 && r.code == 0:
		t.Errorf("exit 0, want a failure\n%v", r)
		return
	case code != 0 && r.code != code:
		t.Errorf("exit %d, want %d\n%v", r.code, code, r)
		return
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not exactly one line\n%v", r)
		return
	}
	prefix := "p2pnode " + cmd + ": "
	if cmd == "" {
		prefix = "p2pnode: "
	}
	if !strings.HasPrefix(r.stderr, prefix) {
		t.Errorf("stderr does not start with %q: %q", prefix, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not mention %q: %q", w, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "Usage:") {
		t.Errorf("a mistake printed the usage:\n%v", r)
	}
}

// syncBuffer is a buffer a running command writes to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// background is a command running in a goroutine: `p2pnode run` runs until
// it is interrupted.
type background struct {
	args     []string
	out, err syncBuffer
	done     chan int
}

func start(args ...string) *background {
	b := &background{args: args, done: make(chan int, 1)}
	go func() { b.done <- realMain(args, &b.out, &b.err) }()
	return b
}

func (b *background) result(code int) result { return result{code, b.out.String(), b.err.String()} }

// started reports whether `run` has announced its node: it does so only
// after it listens for the interrupt that stops it.
func (b *background) started() bool { return strings.Contains(b.out.String(), "p2pnode: node ") }

// interrupt stops a started node as Ctrl-C does and returns how it exited.
func (b *background) interrupt(t *testing.T) result {
	t.Helper()
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Signal(os.Interrupt)
	}
	if err != nil {
		t.Fatalf("cannot interrupt the node of %q: %v", b.args, err)
	}
	select {
	case code := <-b.done:
		return b.result(code)
	case <-time.After(15 * time.Second):
		t.Fatalf("%q did not stop within 15s of an interrupt\n%v", b.args, b.result(-1))
	}
	panic("unreachable")
}

// runFails runs `p2pnode run ARGS`, which must fail within a few seconds
// without starting a node. A node that starts anyway is stopped.
func runFails(t *testing.T, args ...string) result {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("stopping a node that starts by mistake needs os.Interrupt")
	}
	b := start(append([]string{"run"}, args...)...)
	t0 := time.Now()
	for {
		select {
		case code := <-b.done:
			if d := time.Since(t0); d > 5*time.Second {
				t.Errorf("took %v to fail; want a quick failure", d)
			}
			return b.result(code)
		case <-time.After(5 * time.Millisecond):
		}
		if b.started() {
			r := b.interrupt(t)
			t.Fatalf("p2pnode run %q started a node instead of failing\n%v", args, r)
		}
		if time.Since(t0) > 20*time.Second {
			t.Fatalf("p2pnode run %q neither failed nor started within 20s\n%v", args, b.result(-1))
		}
	}
}

// keyedDir is a data dir that already holds an identity key, so that `run`
// has no "created a new identity" to log.
func keyedDir(t *testing.T) (dir, id string) {
	t.Helper()
	dir = t.TempDir()
	r := cli("keygen", "--data-dir", dir)
	if r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	id, _, _ = strings.Cut(r.stdout, "\n")
	return dir, id
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const localTCP = "/ip4/127.0.0.1/tcp/0"

func TestUsage(t *testing.T) {
	names := []string{"run", "replay", "sim", "inspect", "keygen", "demo", "version"}

	r := cli()
	if r.code != 2 || r.stderr != "" {
		t.Errorf("no arguments: want exit 2 and the usage on stdout\n%v", r)
	}
	for _, n := range names {
		if !strings.Contains(r.stdout, "  "+n+" ") {
			t.Errorf("the usage does not list %q:\n%s", n, r.stdout)
		}
	}
	for _, h := range []string{"-h", "--help", "help"} {
		if r := cli(h); r.code != 0 || !strings.Contains(r.stdout, "Commands:") || r.stderr != "" {
			t.Errorf("p2pnode %s: want exit 0 and the usage on stdout\n%v", h, r)
		}
	}

	r = cli("frobnicate", "--x")
	wantOneLine(t, r, "", 2, `unknown command "frobnicate"`)
	if r.stdout != "" {
		t.Errorf("unknown command: stdout %q, want nothing", r.stdout)
	}

	for _, n := range names {
		for _, h := range []string{"-h", "--help"} {
			r := cli(n, h)
			if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage: p2pnode "+n) {
				t.Errorf("p2pnode %s %s: want exit 0 and the usage on stdout\n%v", n, h, r)
			}
		}
		r := cli(n, "--bogus")
		wantOneLine(t, r, n, 2, "-bogus")
		if strings.Contains(r.stderr, "goroutine") || r.stdout != "" {
			t.Errorf("p2pnode %s --bogus: want only one line on stderr\n%v", n, r)
		}
	}
	// Flags and the run usage document what the other tests rely on.
	for _, flag := range []string{"-listen", "-bootstrap", "-data-dir", "-config", "-ban", "-record", "-seed"} {
		if r := cli("run", "-h"); !strings.Contains(r.stdout, flag+" ") {
			t.Errorf("p2pnode run -h does not describe %s:\n%s", flag, r.stdout)
		}
	}

	wantOneLine(t, cli("run", "--listen"), "run", 2, "flag needs an argument", "-listen")
	wantOneLine(t, cli("run", "--seed", "abc"), "run", 2, "-seed")
	wantOneLine(t, cli("version", "extra"), "version", 2, `"extra"`)
	wantOneLine(t, cli("keygen", "extra"), "keygen", 2, `"extra"`)
	wantOneLine(t, cli("sim", "extra"), "sim", 2, `"extra"`)
	wantOneLine(t, cli("sim", "--seeds", "1-2", "--faults", "random", "--duration", "50s"), "sim", 2, "--duration 50s", "no time to check")
	wantOneLine(t, cli("replay"), "replay", 2, "want a LOG file")
	wantOneLine(t, cli("demo", "--nodes", "1"), "demo", 2, "--nodes 1")
}

func TestVersion(t *testing.T) {
	r := cli("version")
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, replay.BuildVersion()) ||
		!strings.Contains(r.stdout, fmt.Sprintf("log format %d", replay.FormatVersion)) {
		t.Errorf("version: want exit 0, the build and the log format\n%v", r)
	}
}

func TestRunErrors(t *testing.T) {
	dir, _ := keyedDir(t)

	t.Run("tcp port in use", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		r := runFails(t, "--data-dir", dir, "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
		wantOneLine(t, r, "run", 1, "port already in use", fmt.Sprintf("127.0.0.1:%d", port), "tcp")
	})
	t.Run("udp port in use", func(t *testing.T) {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		port := c.LocalAddr().(*net.UDPAddr).Port
		r := runFails(t, "--data-dir", dir, "--listen", fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port))
		wantOneLine(t, r, "run", 1, "port already in use", fmt.Sprintf("127.0.0.1:%d", port), "udp")
	})
	t.Run("port in use, fresh data dir", func(t *testing.T) {
		// A first start creates the identity and logs that it did, at
		// the default level, before it finds the port taken: the error
		// is still the one last line.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		fresh := t.TempDir()
		r := runFails(t, "--data-dir", fresh, "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		if r.code != 1 || !strings.HasPrefix(last, "p2pnode run: ") || !strings.Contains(last, "port already in use") {
			t.Errorf("want exit 1 and the error as the last line\n%v", r)
		}
		for _, l := range lines[:len(lines)-1] {
			if !strings.Contains(l, "level=INFO") || !strings.Contains(l, "created a new identity") {
				t.Errorf("unexpected line before the error: %q", l)
			}
		}
		r = runFails(t, "--data-dir", fresh, "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), "--log-level", "warn")
		wantOneLine(t, r, "run", 1, "port already in use")
	})

	t.Run("garbage key", func(t *testing.T) {
		d := t.TempDir()
		key := writeFile(t, filepath.Join(d, "identity.key"), "this is not a key\x00\xff\x01")
		wantOneLine(t, runFails(t, "--data-dir", d, "--listen", localTCP), "run", 1, key, "not a libp2p private key")
	})
	t.Run("empty key", func(t *testing.T) {
		d := t.TempDir()
		key := writeFile(t, filepath.Join(d, "identity.key"), "")
		wantOneLine(t, runFails(t, "--data-dir", d, "--listen", localTCP), "run", 1, key)
	})
	t.Run("key is a directory", func(t *testing.T) {
		d := t.TempDir()
		key := filepath.Join(d, "identity.key")
		if err := os.Mkdir(key, 0o700); err != nil {
			t.Fatal(err)
		}
		wantOneLine(t, runFails(t, "--data-dir", d, "--listen", localTCP), "run", 1, key, "is a directory")
	})
	t.Run("unreadable key", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("file modes do not stop this user from reading")
		}
		d, _ := keyedDir(t)
		key := filepath.Join(d, "identity.key")
		if err := os.Chmod(key, 0); err != nil {
			t.Fatal(err)
		}
		wantOneLine(t, runFails(t, "--data-dir", d, "--listen", localTCP), "run", 1, key, "permission denied")
	})
	t.Run("data dir is a file", func(t *testing.T) {
		f := writeFile(t, filepath.Join(t.TempDir(), "file"), "x")
		wantOneLine(t, runFails(t, "--data-dir", f, "--listen", localTCP), "run", 1, "data dir", f)
	})
	t.Run("record into a missing dir", func(t *testing.T) {
		log := filepath.Join(t.TempDir(), "missing", "node.log")
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--record", log), "run", 1, "action log", log)
	})

	t.Run("malformed listen", func(t *testing.T) {
		for _, a := range []string{"/ip4/999.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/http", "127.0.0.1:4001", "/nosuchproto/1"} {
			wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", a), "run", 1, "listen address", a)
		}
	})
	t.Run("malformed bootstrap", func(t *testing.T) {
		for _, a := range []string{"/ip4/127.0.0.1/tcp/x/p2p/12D3KooWLTsuNqpFFQmanNhYbvBd3iTfRkdsep3aup2DYbYhXCDx",
			"/ip4/127.0.0.1/tcp/4001/p2p/notapeerid", "127.0.0.1:4001"} {
			wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--bootstrap", a), "run", 1, "bootstrap address", a)
		}
	})
	t.Run("bootstrap without /p2p", func(t *testing.T) {
		a := "/ip4/127.0.0.1/tcp/4001"
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--bootstrap", a), "run", 1, "bootstrap address", a, "/p2p/<peer ID>")
	})
	t.Run("bootstrap with only /p2p", func(t *testing.T) {
		a := "/p2p/12D3KooWLTsuNqpFFQmanNhYbvBd3iTfRkdsep3aup2DYbYhXCDx"
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--bootstrap", a), "run", 1, "bootstrap address", a, "no transport address")
	})

	t.Run("unknown flag", func(t *testing.T) {
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--bogus"), "run", 2, "-bogus")
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--listn", localTCP), "run", 2, "-listn")
	})
	t.Run("unexpected argument", func(t *testing.T) {
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "extra"), "run", 2, `"extra"`)
	})
	t.Run("bad ban", func(t *testing.T) {
		for _, b := range []string{"203.0.113.7", "=24h", "203.0.113.7=", "203.0.113.7=soon", "203.0.113.7=-1h", "203.0.113.7=0s", "not a target=1h", "/unix/x=1h"} {
			wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--ban", b), "run", 2, "-ban", strconv.Quote(b))
		}
	})
	t.Run("bad log level and format", func(t *testing.T) {
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--log-level", "loud"), "run", 2, "--log-level", `"loud"`)
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--log-format", "xml"), "run", 2, "--log-format", `"xml"`)
	})
	t.Run("empty network", func(t *testing.T) {
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--network", ""), "run", 1, "network")
	})

	t.Run("config syntax error", func(t *testing.T) {
		// Line 4 lacks the comma that should end line 3.
		cfg := writeFile(t, filepath.Join(t.TempDir(), "bad.json"),
			"{\n  \"network\": \"x\",\n  \"listen\": [\"/ip4/127.0.0.1/tcp/0\"]\n  \"bootstrap\": []\n}\n")
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", cfg), "run", 1, cfg+":4:", "invalid character")
	})
	t.Run("config unknown field", func(t *testing.T) {
		cfg := writeFile(t, filepath.Join(t.TempDir(), "unknown.json"), "{\n  \"network\": \"x\",\n  \"lisen\": []\n}\n")
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", cfg), "run", 1, cfg, `unknown field "lisen"`)
	})
	t.Run("config wrong type", func(t *testing.T) {
		cfg := writeFile(t, filepath.Join(t.TempDir(), "type.json"), "{\n  \"network\": 5\n}\n")
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", cfg), "run", 1, cfg+":2:14:", "network: want a string, got number 5")
	})
	t.Run("config bad values", func(t *testing.T) {
		d := t.TempDir()
		ban := writeFile(t, filepath.Join(d, "ban.json"), `{"bans": {"203.0.113.7": "soon"}}`)
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", ban), "run", 1, ban, "bans", `"soon"`)
		rule := writeFile(t, filepath.Join(d, "rule.json"), `{"rules": {"NoSuchRule": 1}}`)
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", rule), "run", 1, rule, `"NoSuchRule"`)
		dur := writeFile(t, filepath.Join(d, "dur.json"), `{"rules": {"PingInterval": "often"}}`)
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", dur), "run", 1, dur, "PingInterval")
		listen := writeFile(t, filepath.Join(d, "listen.json"), `{"listen": ["/ip4/999.0.0.1/tcp/0"]}`)
		wantOneLine(t, runFails(t, "--data-dir", dir, "--config", listen), "run", 1, "/ip4/999.0.0.1/tcp/0")
	})
	t.Run("config missing", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "none.json")
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", cfg), "run", 1, cfg)
	})
}

// A --listen address whose port is taken is reported even when another
// listen address works (go-libp2p alone would start without it).
func TestRunPortInUseAmongSeveral(t *testing.T) {
	dir, _ := keyedDir(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	r := runFails(t, "--data-dir", dir, "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), "--listen", "/ip4/127.0.0.1/udp/0/quic-v1")
	wantOneLine(t, r, "run", 1, "port already in use", fmt.Sprintf("127.0.0.1:%d", port))
}

func TestRunConfigTrailingData(t *testing.T) {
	dir, _ := keyedDir(t)
	for _, content := range []string{"{\"network\": \"x\"}\n}\n", `{"network": "x"} {"network": "y"}`, `{"network": "x"} garbage`} {
		cfg := writeFile(t, filepath.Join(t.TempDir(), "trailing.json"), content)
		wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", cfg), "run", 1, cfg)
	}
}

func TestRunConfigTruncatedSaysWhere(t *testing.T) {
	dir, _ := keyedDir(t)
	cfg := writeFile(t, filepath.Join(t.TempDir(), "truncated.json"), "{\n  \"network\": \"x\",\n  \"listen\": [\n")
	wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", cfg), "run", 1, cfg+":4:1:")
}

func TestRunConfigSyntaxErrorColumn(t *testing.T) {
	dir, _ := keyedDir(t)
	// The '"' that opens "bootstrap" is at line 4, column 3.
	cfg := writeFile(t, filepath.Join(t.TempDir(), "bad.json"),
		"{\n  \"network\": \"x\",\n  \"listen\": []\n  \"bootstrap\": []\n}\n")
	wantOneLine(t, runFails(t, "--data-dir", dir, "--listen", localTCP, "--config", cfg), "run", 1, cfg+":4:3:")
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for t0 := time.Now(); time.Since(t0) < d; time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestRunStartsAndStops(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the node with os.Interrupt")
	}
	dir, id := keyedDir(t)
	log := filepath.Join(dir, "node.log")
	b := start("run", "--data-dir", dir, "--listen", localTCP, "--listen", "/ip4/127.0.0.1/udp/0/quic-v1",
		"--record", log, "--seed", "42", "--log-level", "warn", "--ban", "203.0.113.7=24h")
	if !waitFor(15*time.Second, func() bool { return strings.Count(b.out.String(), "listening on") == 2 }) {
		select {
		case code := <-b.done:
			t.Fatalf("run exited instead of running\n%v", b.result(code))
		default:
			if b.started() {
				b.interrupt(t)
			}
			t.Fatalf("run did not announce two listen addresses within 15s\n%v", b.result(-1))
		}
	}
	r := b.interrupt(t)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("run stopped by an interrupt: want exit 0 and nothing on stderr at --log-level warn\n%v", r)
	}
	if want := fmt.Sprintf("p2pnode: node %s on network \"p2pcore\"\n", id); !strings.HasPrefix(r.stdout, want) {
		t.Errorf("stdout does not start with %q: the node must use the key keygen wrote\n%v", want, r)
	}
	for _, re := range []string{
		`listening on /ip4/127\.0\.0\.1/tcp/[1-9][0-9]*/p2p/` + regexp.QuoteMeta(id) + "\n",
		`listening on /ip4/127\.0\.0\.1/udp/[1-9][0-9]*/quic-v1/p2p/` + regexp.QuoteMeta(id) + "\n",
		"p2pnode: stopping\n",
		"action log " + regexp.QuoteMeta(log) + " is complete",
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("stdout does not match %q\n%v", re, r)
		}
	}
	rd, err := replay.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	if h := rd.Header(); h.Seed != 42 || string(h.Self.ID) != id || h.Network != "p2pcore" {
		t.Errorf("log header: seed %d, self %s, network %q; want 42, %s, p2pcore", h.Seed, h.Self.ID, h.Network, id)
	}
	rd.Close()
	if r := cli("replay", "--check", log); r.code != 0 || !strings.Contains(r.stdout, "end hash matches") {
		t.Errorf("replay of the node's log\n%v", r)
	}
}

func TestRunConfigFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the node with os.Interrupt")
	}
	dir, id := keyedDir(t)
	cfg := writeFile(t, filepath.Join(t.TempDir(), "node.json"), `{
  "network": "cfgnet",
  "listen": ["/ip4/127.0.0.1/tcp/0"],
  "log_level": "warn",
  "bans": {"203.0.113.7": "1h"},
  "rules": {"OutboundTarget": 3, "PingInterval": "30s"},
  "control": {"Budget": {"Msgs": 40}},
  "channels": [{"Name": "chat", "Kind": "broadcast", "Version": 2, "MaxSize": "64KiB", "QueueLimit": 16,
                "Budget": {"Msgs": 5, "Bytes": "64KiB", "Burst": "2s"}}]
}`)
	log := filepath.Join(t.TempDir(), "node.log")
	for _, tc := range []struct {
		args    []string
		network string
	}{
		{nil, "cfgnet"},
		{[]string{"--network", "flagnet"}, "flagnet"}, // flags win over the file
	} {
		b := start(append([]string{"run", "--config", cfg, "--data-dir", dir, "--record", log}, tc.args...)...)
		if !waitFor(15*time.Second, func() bool { return strings.Contains(b.out.String(), "listening on") }) {
			select {
			case code := <-b.done:
				t.Fatalf("run %q exited instead of running\n%v", tc.args, b.result(code))
			default:
				if b.started() {
					b.interrupt(t)
				}
				t.Fatalf("run %q did not start within 15s\n%v", tc.args, b.result(-1))
			}
		}
		r := b.interrupt(t)
		want := fmt.Sprintf("p2pnode: node %s on network %q\n  listening on /ip4/127.0.0.1/tcp/", id, tc.network)
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) || r.stderr != "" {
			t.Errorf("run %q: want exit 0, stdout starting %q and the config's log level (nothing on stderr)\n%v", tc.args, want, r)
		}
		rd, err := replay.Open(log)
		if err != nil {
			t.Fatal(err)
		}
		c := rd.Header().Config
		rd.Close()
		if c.OutboundTarget != 3 || c.PingInterval != 30*time.Second || c.Channels[0].Budget.Msgs != 40 ||
			len(c.Channels) != 2 || c.Channels[1].Name != "chat" || c.Channels[1].Version != 2 || c.Channels[1].MaxSize != 64<<10 {
			t.Errorf("run %q: the log's config does not have the file's rules and channels: %+v", tc.args, c)
		}
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "identity.key")
	r := cli("keygen", "--data-dir", dir)
	id, rest, _ := strings.Cut(r.stdout, "\n")
	if r.code != 0 || r.stderr != "" || !strings.HasPrefix(id, "12D3KooW") || rest != "written to "+path+" (mode 0600)\n" {
		t.Fatalf("keygen --data-dir: want exit 0, the peer ID and the path\n%v", r)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	key, err := p2p.ReadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := p2p.PeerIDOf(key); err != nil || pid.String() != id {
		t.Errorf("the key file is of peer %v (%v); keygen printed %s", pid, err, id)
	}
	before, _ := os.ReadFile(path)

	// A second keygen must not replace the identity.
	r = cli("keygen", "--data-dir", dir)
	wantOneLine(t, r, "keygen", 1, path, "already exists")
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("keygen overwrote an existing key")
	}
	wantOneLine(t, cli("keygen", "--out", path), "keygen", 1, path, "already exists")

	// --out creates the missing directories.
	out := filepath.Join(dir, "a", "b", "node.key")
	if r := cli("keygen", "--out", out); r.code != 0 || !strings.Contains(r.stdout, "written to "+out) {
		t.Errorf("keygen --out into new directories\n%v", r)
	}
	if fi, err := os.Stat(out); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("keygen --out: %v %v", fi, err)
	}
	if _, err := p2p.ReadKey(out); err != nil {
		t.Error(err)
	}
	// Into a path that is a directory: one line, nothing written.
	wantOneLine(t, cli("keygen", "--out", dir), "keygen", 1, dir)
	// Into a data dir under a file.
	f := writeFile(t, filepath.Join(dir, "file"), "x")
	wantOneLine(t, cli("keygen", "--data-dir", f), "keygen", 1, f)
}

// simArgs is the run every sim and replay test uses.
var simArgs = []string{"sim", "--nodes", "5", "--seed", "7", "--duration", "20s"}

// shared is one recorded simulation for the replay tests.
var shared struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is p2pnode built from this source, once, for the tests that run it
// as a process of its own.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func p2pnodeBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "p2pnode-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "p2pnode")
		cmd := exec.Command("go", "build", "-o", built.bin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// sharedLog is node-001's log of simArgs: it dials node-000, so its log
// holds connections as well as messages.
func sharedLog(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "p2pnode-test-"); shared.err != nil {
			return
		}
		if r := cli(append(simArgs, "--record", shared.dir)...); r.code != 0 {
			shared.err = fmt.Errorf("sim --record: %v", r)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return filepath.Join(shared.dir, "node-001.log")
}

var verifiedRE = regexp.MustCompile(`: verified (\d+) inputs, (\d+) derived actions, (\d+) checkpoints; end hash matches \(action #(\d+), state [0-9a-f]+\)\n$`)

// verify replays a log that must verify and returns its last action ID.
func verify(t *testing.T, log string) (inputs, derived, last uint64) {
	t.Helper()
	r := cli("replay", log)
	m := verifiedRE.FindStringSubmatch(r.stdout)
	if r.code != 0 || r.stderr != "" || m == nil || !strings.HasPrefix(r.stdout, log+": ") {
		t.Fatalf("replay %s: want exit 0 and one verified line\n%v", log, r)
	}
	n := func(s string) uint64 { v, _ := strconv.ParseUint(s, 10, 64); return v }
	return n(m[1]), n(m[2]), n(m[4])
}

func TestSimIsReproducible(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ra := cli(append(simArgs, "--record", a)...)
	rb := cli(append(simArgs, "--record", b)...)
	for _, r := range []result{ra, rb} {
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "invariant violations: 0") {
			t.Fatalf("sim --record\n%v", r)
		}
	}
	if !strings.Contains(ra.stdout, "logs: "+a+" ") {
		t.Errorf("sim --record does not name its log dir\n%v", ra)
	}
	if strings.ReplaceAll(ra.stdout, a, "DIR") != strings.ReplaceAll(rb.stdout, b, "DIR") {
		t.Errorf("two runs of one seed printed different reports:\n%s\n%s", ra.stdout, rb.stdout)
	}
	names := func(dir string) []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	want := []string{"node-000.log", "node-001.log", "node-002.log", "node-003.log", "node-004.log"}
	if na, nb := names(a), names(b); !slices.Equal(na, want) || !slices.Equal(nb, want) {
		t.Fatalf("log files %v and %v, want %v", na, nb, want)
	}
	lastIDs := map[string]uint64{}
	for _, n := range want {
		la, _ := os.ReadFile(filepath.Join(a, n))
		lb, _ := os.ReadFile(filepath.Join(b, n))
		if len(la) == 0 || !bytes.Equal(la, lb) {
			t.Errorf("%s: the two runs wrote different logs (%d and %d bytes)", n, len(la), len(lb))
		}
		for _, dir := range []string{a, b} {
			_, _, last := verify(t, filepath.Join(dir, n))
			lastIDs[n] = last
		}
	}

	// The whole directory at once, as the report suggests; a damaged log
	// among the good ones fails the run and the others still verify.
	all := cli("replay", a)
	if all.code != 0 || strings.Count(all.stdout, "end hash matches") != len(want) || !strings.Contains(all.stdout, "all 5 logs verified") {
		t.Errorf("replay DIR\n%v", all)
	}
	bad := filepath.Join(t.TempDir(), "bad.log")
	if err := os.WriteFile(bad, []byte("not a log"), 0o644); err != nil {
		t.Fatal(err)
	}
	mixed := cli("replay", filepath.Join(a, want[0]), bad, filepath.Join(b, want[1]))
	if mixed.code == 0 || strings.Count(mixed.stdout, "end hash matches") != 2 ||
		!strings.Contains(mixed.stderr, "bad.log") || !strings.Contains(mixed.stderr, "1 of 3 logs failed") {
		t.Errorf("replay GOOD BAD GOOD\n%v", mixed)
	}
	wantOneLine(t, cli("replay", "--trace", a), "replay", 2, "--trace looks into one log")
	wantOneLine(t, cli("replay", t.TempDir()), "replay", 0, "no .log files")

	// --json: the same run as a report, itself reproducible.
	j1 := cli(append(simArgs, "--json")...)
	j2 := cli(append(simArgs, "--json")...)
	if j1.code != 0 || j1.stderr != "" || j1.stdout != j2.stdout {
		t.Fatalf("sim --json: want exit 0 and the same report twice\n%v\n%v", j1, j2)
	}
	var generic map[string]any
	if err := json.Unmarshal([]byte(j1.stdout), &generic); err != nil {
		t.Fatalf("sim --json is not JSON: %v\n%s", err, j1.stdout)
	}
	perNode, _ := generic["per_node"].([]any)
	if len(perNode) != 5 {
		t.Fatalf("per_node has %d entries, want 5:\n%s", len(perNode), j1.stdout)
	}
	for i, pn := range perNode {
		m, _ := pn.(map[string]any)
		for _, f := range []string{"id", "network", "outbound_ready", "inbound_ready", "disconnect_reasons", "invariant_violations"} {
			if _, ok := m[f]; !ok {
				t.Errorf("per_node[%d] has no field %q: %v", i, f, m)
			}
		}
	}
	var rep struct {
		Seed       uint64 `json:"seed"`
		Nodes      int    `json:"nodes"`
		Duration   string `json:"duration"`
		Violations uint64 `json:"invariant_violations"`
		PerNode    []struct {
			ID            string            `json:"id"`
			Network       string            `json:"network"`
			OutboundReady int               `json:"outbound_ready"`
			InboundReady  int               `json:"inbound_ready"`
			Disconnects   map[string]uint64 `json:"disconnect_reasons"`
			Violations    uint64            `json:"invariant_violations"`
			Actions       uint64            `json:"actions"`
		} `json:"per_node"`
	}
	if err := json.Unmarshal([]byte(j1.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Seed != 7 || rep.Nodes != 5 || rep.Duration != "20s" || rep.Violations != 0 {
		t.Errorf("report: seed %d, %d nodes, %s, %d violations; want 7, 5, 20s, 0", rep.Seed, rep.Nodes, rep.Duration, rep.Violations)
	}
	inbound, outbound := 0, 0
	for i, n := range rep.PerNode {
		name := fmt.Sprintf("node-%03d", i)
		if n.ID != name || n.Network != "simnet" || n.Violations != 0 || n.Disconnects == nil {
			t.Errorf("per_node[%d]: %+v", i, n)
		}
		// The report and the recorded log describe the same run.
		if n.Actions != lastIDs[name+".log"] {
			t.Errorf("%s: the report counts %d actions, its recorded log ends at #%d", name, n.Actions, lastIDs[name+".log"])
		}
		inbound += n.InboundReady
		outbound += n.OutboundReady
	}
	if inbound != outbound || outbound == 0 {
		t.Errorf("%d outbound and %d inbound ready connections; want as many of each, and some", outbound, inbound)
	}
}

func TestSimBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "0"}, "--nodes 0"},
		{[]string{"--nodes", "-3"}, "--nodes -3"},
		{[]string{"--duration", "-1s"}, "--duration -1s"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--duration", "soon"}, "-duration"},
		{[]string{"--loss", "2"}, "--loss"},
		{[]string{"--latency", "abc"}, "--latency"},
		{[]string{"--latency", "50ms-10ms"}, "--latency"},
		{[]string{"--fault", "1s:boom"}, "boom"},
		{[]string{"--fault", "later:heal"}, "-fault"},
		{[]string{"--fault", "1s:crash:0-2000000000"}, "beyond the largest simulation"},
		{[]string{"--loss", "NaN"}, "--loss NaN"},
		{[]string{"--bootnodes", "9"}, "bootnodes"},
		{[]string{"--fault", "5s:crash:1"}, "fault crash at 5s: not within the run (--duration 1s)"},
		{[]string{"--fault", "500ms:restart:1"}, "node 1 is not down then"},
		{[]string{"--fault", "900ms:crash:1", "--fault", "500ms:restart:1"}, "fault restart at 500ms: node 1 is not down"},
		{[]string{"--seeds", "3-1", "--faults", "random"}, "two seeds"},
	} {
		args := append([]string{"sim", "--nodes", "5", "--duration", "1s"}, tc.args...)
		wantOneLine(t, cli(args...), "sim", 0, tc.want)
	}
}

var traceRE = regexp.MustCompile(`^#(\d+) +[+-]\d+\.\d{6}s  (input|derived) +\S`)

func TestReplay(t *testing.T) {
	log := sharedLog(t)
	inputs, derived, last := verify(t, log)
	if last == 0 || inputs+derived != last {
		t.Fatalf("verified %d inputs and %d derived actions, up to #%d", inputs, derived, last)
	}

	t.Run("trace", func(t *testing.T) {
		r := cli("replay", "--trace", log)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("replay --trace\n%v", r)
		}
		// One line per action, each followed by the commands it produced.
		var lines []string
		commands := 0
		for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "→ ") {
				commands++
				continue
			}
			lines = append(lines, l)
		}
		if uint64(len(lines)) != last || commands == 0 {
			t.Fatalf("--trace printed %d action lines for %d actions, and %d commands", len(lines), last, commands)
		}
		var roles = map[string]int{}
		for i, l := range lines {
			m := traceRE.FindStringSubmatch(l)
			if m == nil || m[1] != strconv.Itoa(i+1) {
				t.Fatalf("trace line %d: %q", i+1, l)
			}
			roles[m[2]]++
		}
		if uint64(roles["input"]) != inputs || uint64(roles["derived"]) != derived {
			t.Errorf("--trace shows %d inputs, %d derived; verify counted %d, %d", roles["input"], roles["derived"], inputs, derived)
		}
		// Flags may follow the log; --to bounds the trace.
		r = cli("replay", log, "--trace", "--to", "10")
		if n := strings.Count(r.stdout, "\n") - strings.Count(r.stdout, "→ "); r.code != 0 || n != 10 {
			t.Errorf("replay LOG --trace --to 10: %d lines\n%v", n, r)
		}
	})

	t.Run("state", func(t *testing.T) {
		r := cli("replay", "--to", "100", "--state", log)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("replay --to 100 --state\n%v", r)
		}
		var st struct {
			Self     struct{ ID string }
			Peers    map[string]json.RawMessage
			Counters struct{ Actions uint64 }
		}
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("--state is not JSON: %v\n%s", err, r.stdout)
		}
		if st.Self.ID != "node-001" || st.Counters.Actions != 100 || st.Peers == nil {
			t.Errorf("state at #100: self %q, %d actions, peers %v", st.Self.ID, st.Counters.Actions, st.Peers)
		}
		r = cli("replay", "--to", "100", "--state=Counters", log)
		var counters struct{ Actions uint64 }
		if err := json.Unmarshal([]byte(r.stdout), &counters); r.code != 0 || err != nil || counters.Actions != 100 {
			t.Errorf("--state=Counters at #100: %v (%v)", r, err)
		}
		wantOneLine(t, cli("replay", "--to", "100", "--state=NoSuchField", log), "replay", 1, `"NoSuchField"`)
		wantOneLine(t, cli("replay", "--to", strconv.FormatUint(last+1, 10), log), "replay", 1,
			fmt.Sprintf("ends at action #%d", last))
	})

	t.Run("diff", func(t *testing.T) {
		// The first connection node-001 makes changes its peer's status.
		trace := cli("replay", "--trace", log).stdout
		var id string
		for _, l := range strings.Split(trace, "\n") {
			if strings.Contains(l, " input   Connected Peer=") {
				id = traceRE.FindStringSubmatch(l)[1]
				break
			}
		}
		if id == "" {
			t.Fatal("the log holds no Connected input")
		}
		r := cli("replay", "--diff", id, log)
		if r.code != 0 || r.stderr != "" ||
			!strings.HasPrefix(r.stdout, "action #"+id+" (input): Connected Peer=") ||
			!strings.Contains(r.stdout, "state change (-before +after):\n") ||
			!changed(r.stdout, "Status:", `"handshaking"`) {
			t.Errorf("replay --diff %s: want the action and the change of the peer's status\n%v", id, r)
		}
	})

	t.Run("check", func(t *testing.T) {
		if r := cli("replay", "--check", log); r.code != 0 || r.stderr != "" || !verifiedRE.MatchString(r.stdout) {
			t.Errorf("replay --check\n%v", r)
		}
	})
}

// changed reports whether a replay diff has a "+" line with all of words.
// (go-cmp varies the spaces of its output, so match words, not spacing.)
func changed(diff string, words ...string) bool {
	for _, l := range strings.Split(diff, "\n") {
		if !strings.HasPrefix(l, "+") {
			continue
		}
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return true
		}
	}
	return false
}

// recordOffsets are where a log's records start, its header's included.
func recordOffsets(t *testing.T, log string) []int64 {
	t.Helper()
	rd, err := replay.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	offs := []int64{int64(len(replay.Magic))}
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return offs
		}
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, rec.Offset)
	}
}

// recordAt is the start of the record that holds byte off.
func recordAt(offs []int64, off int64) int64 {
	if off < offs[0] {
		return 0
	}
	i, found := slices.BinarySearch(offs, off)
	if found {
		return offs[i]
	}
	return offs[i-1]
}

func TestReplayDamagedLogs(t *testing.T) {
	log := sharedLog(t)
	good, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, log)
	size := int64(len(good))
	if len(offs) < 100 {
		t.Fatalf("only %d records", len(offs))
	}
	dir := t.TempDir()

	t.Run("truncated", func(t *testing.T) {
		mid := offs[len(offs)/2]
		endRec := offs[len(offs)-1]
		for _, cut := range []int64{1, 7, 8, 9, 20, offs[1], offs[1] + 5, mid, mid + 3, size / 2, endRec, endRec + 1, size - 1} {
			path := writeFile(t, filepath.Join(dir, fmt.Sprintf("cut-%d.log", cut)), string(good[:cut]))
			want := cut
			if cut >= offs[0] {
				want = recordAt(offs, cut)
			}
			wantOneLine(t, cli("replay", path), "replay", 1, path, fmt.Sprintf("torn tail at offset %d", want))
			if cut == endRec {
				wantOneLine(t, cli("replay", path), "replay", 1, "without its end record")
			}
		}
	})
	t.Run("flipped byte", func(t *testing.T) {
		for _, at := range []int64{0, 5, 8, 12, 40, offs[1] + 2, offs[len(offs)/3] + 7, size / 2, size - 20, size - 1} {
			bad := slices.Clone(good)
			bad[at] ^= 0xff
			path := writeFile(t, filepath.Join(dir, fmt.Sprintf("flip-%d.log", at)), string(bad))
			wantOneLine(t, cli("replay", path), "replay", 1, path, fmt.Sprintf("offset %d", recordAt(offs, at)))
		}
	})
	t.Run("not a log", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.log")
		wantOneLine(t, cli("replay", missing), "replay", 1, missing)

		rng := rand.New(rand.NewPCG(1, 2))
		junk := make([]byte, 4096)
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
		garbage := writeFile(t, filepath.Join(dir, "garbage.log"), string(junk))
		wantOneLine(t, cli("replay", garbage), "replay", 1, garbage, "offset 0")
		magic := writeFile(t, filepath.Join(dir, "magic.log"), replay.Magic+string(junk))
		wantOneLine(t, cli("replay", magic), "replay", 1, magic, "offset 8")
		empty := writeFile(t, filepath.Join(dir, "empty.log"), "")
		wantOneLine(t, cli("replay", empty), "replay", 1, empty, "offset 0")
		// The directory of all these: each log named with its fault, and
		// a count at the end.
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		r := cli("replay", dir)
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if r.code != 1 || len(logs) < 3 || len(lines) != len(logs)+1 ||
			lines[len(lines)-1] != fmt.Sprintf("p2pnode replay: %d of %d logs failed", len(logs), len(logs)) {
			t.Errorf("replay DIR of %d damaged logs\n%v", len(logs), r)
		}
		wantOneLine(t, cli("replay", "--to", "5", dir), "replay", 2, "--to looks into one log")
		// The other modes fail the same way.
		wantOneLine(t, cli("replay", "--trace", garbage), "replay", 1, "offset 0")
		wantOneLine(t, cli("replay", "--to", "5", "--state", missing), "replay", 1, missing)
	})
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	r := cli("demo", "--nodes", "3", "--messages", "2", "--dir", dir, "--timeout", "30s")
	if r.code != 0 || !strings.Contains(r.stdout, "demo passed: 3 nodes") {
		t.Fatalf("demo\n%v", r)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) != 3 {
		t.Fatalf("demo kept %d logs, want 3: %v", len(logs), logs)
	}
	for _, l := range logs {
		verify(t, l)
	}
}

// TestExplorerDefaultDuration: the fault explorer's documented command,
// without --duration, runs each seed long enough to check it (a minute,
// the default of a single simulation, failed every seed).
func TestExplorerDefaultDuration(t *testing.T) {
	r := cli("sim", "--seeds", "3-4", "--faults", "random", "--nodes", "5")
	if r.code != 0 || !strings.Contains(r.stdout, "1m30s each") || !strings.Contains(r.stdout, "0 failed") {
		t.Fatalf("explorer without --duration:\n%v", r)
	}
}
