package progress

import (
	"strings"
	"testing"
	"time"
)

// Off a terminal, a meter prints a line per 10 % once the work has taken
// a second, and nothing before.
func TestMeterPrintsLinesOffATerminal(t *testing.T) {
	var b strings.Builder
	m := New(&b, "replay", 100, Bytes)
	m.Update(50)
	if b.Len() != 0 {
		t.Fatalf("printed within the first second: %q", b.String())
	}
	m.start = m.start.Add(-2 * time.Second) // as if it had run for two seconds
	for done := 0.0; done <= 100; done += 1 {
		m.Update(done)
	}
	m.Done()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 11 || !strings.HasPrefix(lines[5], "replay: 50% (50 B of 100 B)") {
		t.Errorf("got %d lines:\n%s", len(lines), b.String())
	}
}

// On a terminal, a meter redraws one line: the bar, the amount, the rate
// and the time left.
func TestMeterDrawsABarWithRateOnATerminal(t *testing.T) {
	var b strings.Builder
	m := New(&b, "inspect", 100<<20, Bytes)
	m.tty = true
	m.start = m.start.Add(-2 * time.Second)
	m.last = m.last.Add(-time.Second)
	m.Update(50 << 20)
	m.Done()
	out := b.String()
	for _, want := range []string{"\rinspect ", " 50%", "50.0 MiB of 100.0 MiB", "MiB/s", "left", "inspect done in"} {
		if !strings.Contains(out, want) {
			t.Errorf("the bar %q has no %q", out, want)
		}
	}
}
