package sim_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/sim"
)

// Running in steps for a progress meter changes nothing: the logs are the
// bytes Run writes.
func TestRunReportingIsRun(t *testing.T) {
	run := func(steps bool) string {
		dir := t.TempDir()
		s, err := sim.New(sim.Config{Nodes: 5, Seed: 9, Duration: 20 * time.Second, RecordDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		var reports int
		if steps {
			_, err = s.RunReporting(3*time.Second, func(time.Duration) { reports++ })
			if reports != 7 {
				t.Errorf("%d reports over 20 s every 3 s, want 7", reports)
			}
		} else {
			_, err = s.Run()
		}
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a, b := run(false), run(true)
	for i := range 5 {
		name := sim.NodeID(i) + ".log"
		x, _ := os.ReadFile(filepath.Join(a, string(name)))
		y, _ := os.ReadFile(filepath.Join(b, string(name)))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between Run and RunReporting (%d and %d bytes)", name, len(x), len(y))
		}
	}
}
