package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
)

// TestReplayCatchesChangedCode is the promise of the action log, end to end:
// a log recorded by this code, replayed by a p2pnode built from a copy of
// the source with one effect or one reducer changed, fails at the action
// where the change shows. The copies are real source trees built with the
// go command, as a developer's changed checkout would be.
func TestReplayCatchesChangedCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three p2pnode binaries")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	// No workload, so peers fall idle and ping each other.
	if r := cli("sim", "--nodes", "6", "--seed", "11", "--duration", "150s", "--tx-rate", "-1",
		"--block-interval", "-1s", "--checkpoint-every", "64", "--record", logs); r.code != 0 {
		t.Fatalf("sim\n%v", r)
	}
	log := filepath.Join(logs, "node-001.log")
	firstPing := firstDerived(t, log, action.KindPingRequestReceived)
	firstPingSend := firstDerived(t, log, action.KindPingSend)

	// This build, for --bisect-with.
	this := p2pnodeBinary(t)

	t.Run("effect answers pings with a wrong nonce", func(t *testing.T) {
		bin := changedBuild(t, root, filepath.Join(dir, "effect"), "effects/effects.go",
			"message.PingResponse{Nonce: a.Nonce}", "message.PingResponse{Nonce: a.Nonce + 1}")
		out, code := run(t, bin, "replay", log)
		if code != 1 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		want := regexp.MustCompile(`diverged at action #` + itoa(firstPing) + ` \(PingRequestReceived, caused by input #\d+\): command 1 of 1 .*differs\n` +
			`\s+expected \(the log\): Send channel=control 11 bytes digest [0-9a-f]{16}\n` +
			`\s+got \(the replay\): +send node-\d+ PingResponse\{Nonce=\d+\}`)
		if !want.MatchString(out) {
			t.Errorf("the report does not name #%d and the differing command:\n%s", firstPing, out)
		}
		if !strings.Contains(out, "its commands in the replay:") {
			t.Errorf("the report does not show the action's commands:\n%s", out)
		}
	})

	t.Run("reducer counts pings twice", func(t *testing.T) {
		bin := changedBuild(t, root, filepath.Join(dir, "reducer"), "reducer/ping.go",
			"s.Counters.PingsSent++", "s.Counters.PingsSent += 2")
		out, code := run(t, bin, "replay", log)
		if code != 1 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		m := regexp.MustCompile(`diverged in the state between (?:action #(\d+)|the start) and #?(?:action #)?(\d+) .*differing state sections: Counters\n`).FindStringSubmatch(out)
		if m == nil || strings.Contains(out, "kind(") {
			t.Fatalf("the report does not give an interval and the Counters section:\n%s", out)
		}
		out, code = run(t, bin, "replay", "--bisect-with", this, log)
		if code != 1 {
			t.Fatalf("--bisect-with: exit %d\n%s", code, out)
		}
		if want := "the first action after which the state differs: #" + itoa(firstPingSend) + " (PingSend), in Counters"; !strings.Contains(out, want) {
			t.Errorf("--bisect-with does not say %q:\n%s", want, out)
		}
		if !strings.Contains(out, "PingsSent") {
			t.Errorf("--bisect-with does not show the changed counter:\n%s", out)
		}
	})
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func firstDerived(t *testing.T, path string, k action.Kind) uint64 {
	t.Helper()
	rd, err := replay.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for {
		rec, err := rd.Next()
		if err != nil {
			t.Fatalf("%s has no enabled %s: %v", path, k, err)
		}
		if rec.Type == replay.RecordDerived && rec.Kind == k && !rec.Dropped {
			return rec.Meta.ID
		}
	}
}

// changedBuild copies the module to dir, replaces old with new (once) in
// file, and builds p2pnode there.
func changedBuild(t *testing.T, root, dir, file, old, new string) string {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == "testdata") && rel != "." {
			return filepath.SkipDir
		}
		// Go files, and the files go:embed takes (the inspector's page).
		embedded := strings.Contains(filepath.ToSlash(rel), "/web/")
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum" || embedded) || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == filepath.FromSlash(file) {
			if bytes.Count(data, []byte(old)) != 1 {
				t.Fatalf("%s does not contain %q exactly once", file, old)
			}
			data = bytes.Replace(data, []byte(old), []byte(new), 1)
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "p2pnode")
	goBuild(t, dir, bin)
	return bin
}

func goBuild(t *testing.T, dir, out string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", out, "./cmd/p2pnode")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, b)
	}
	t.Logf("built %s in %v", out, time.Since(start).Round(time.Millisecond))
}

func run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}
