// Package progress reports how far a long command has got: a bar redrawn
// in place on a terminal, plain lines otherwise (a log, a CI job). It
// stays silent for work that finishes within a second, so that quick
// runs and tests print nothing.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Meter reports the progress of one piece of work toward a total.
type Meter struct {
	w       io.Writer
	label   string
	total   float64
	unit    func(float64) string
	tty     bool
	start   time.Time
	last    time.Time
	lastPct int
	shown   bool
}

// New starts a meter for work of the given total, written to w; unit
// formats an amount (nil: a plain number).
func New(w io.Writer, label string, total float64, unit func(float64) string) *Meter {
	if unit == nil {
		unit = func(v float64) string { return fmt.Sprintf("%.0f", v) }
	}
	now := time.Now()
	return &Meter{w: w, label: label, total: total, unit: unit, tty: isTerminal(w), start: now, last: now, lastPct: -10}
}

// Update reports that done of the total is done. It is cheap to call
// often: it draws at most five times a second on a terminal (the bar, the
// rate and the time left), and otherwise prints a line every 10 % (or
// every 10 s).
func (m *Meter) Update(done float64) {
	now := time.Now()
	if now.Sub(m.start) < time.Second {
		return
	}
	pct := 0
	if m.total > 0 {
		pct = int(100 * min(done/m.total, 1))
	}
	if m.tty {
		if now.Sub(m.last) < 200*time.Millisecond {
			return
		}
		m.last, m.shown = now, true
		const width = 30
		bar := strings.Repeat("█", pct*width/100) + strings.Repeat("░", width-pct*width/100)
		rate := done / now.Sub(m.start).Seconds()
		fmt.Fprintf(m.w, "\r%s %s %3d%%  %s of %s  %s/s  %s", m.label, bar, pct, m.unit(done), m.unit(m.total), m.unit(rate), eta(now.Sub(m.start), pct))
		return
	}
	if pct/10 == m.lastPct/10 && now.Sub(m.last) < 10*time.Second {
		return
	}
	m.last, m.lastPct, m.shown = now, pct, true
	fmt.Fprintf(m.w, "%s: %d%% (%s of %s) after %s\n", m.label, pct, m.unit(done), m.unit(m.total), now.Sub(m.start).Round(time.Second))
}

// Done ends the meter: on a terminal the bar line is finished, if it was
// ever drawn.
func (m *Meter) Done() {
	if m.tty && m.shown {
		fmt.Fprintf(m.w, "\r%s done in %s%s\n", m.label, time.Since(m.start).Round(100*time.Millisecond), strings.Repeat(" ", 60))
	}
}

func eta(elapsed time.Duration, pct int) string {
	if pct <= 0 || pct >= 100 {
		return ""
	}
	left := time.Duration(float64(elapsed) * float64(100-pct) / float64(pct))
	return "about " + left.Round(time.Second).String() + " left"
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Bytes formats a byte count.
func Bytes(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.1f GiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.0f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

// Seconds formats a duration given in seconds.
func Seconds(v float64) string {
	return time.Duration(v * float64(time.Second)).Round(time.Second).String()
}
