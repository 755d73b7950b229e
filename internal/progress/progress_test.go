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
