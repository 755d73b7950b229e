package main

import (
	"fmt"
	"io"
)

// simRow is one simulator benchmark (package sim, BenchmarkSim*) and its
// goal: wall time for a simulated minute, every node at its outbound
// target, delivery after the warm-up, nothing unexplained.
type simRow struct {
	name, title string
	wallGoal    float64 // seconds; 0: none
}

var simRows = []simRow{
	{"BenchmarkSim100", "100 nodes × 60 s, 1 bootnode", 0},
	{"BenchmarkSim1000", "1,000 nodes × 60 s, 1 bootnode", 60},
	{"BenchmarkSim1000Boot3", "1,000 nodes × 60 s, 3 bootnodes", 60},
}

// printSim writes the simulator's table and reports whether every goal
// was met.
func printSim(w io.Writer, results map[string]map[string][]float64) bool {
	ok := true
	fmt.Fprintf(w, "%-32s %8s %8s %10s %10s %9s %9s %11s %6s %8s %4s  %s\n", "simulation (invariants on)",
		"wall", "×real", "events/s", "actions/s", "at target", "delivered", "unexplained", "ampl.", "heap", "runs", "verdict")
	for _, r := range simRows {
		m := results[r.name]
		if m == nil {
			fmt.Fprintf(w, "%-32s not run\n", r.title)
			ok = false
			continue
		}
		wall, nodes, at := median(m["wall-s"]), median(m["nodes"]), median(m["at-target"])
		delivered, unexplained := median(m["delivered-%"]), median(m["unexplained"])
		verdict := "met"
		if (r.wallGoal > 0 && wall > r.wallGoal) || at < nodes || delivered < 99 || unexplained > 0 {
			verdict, ok = "MISSED", false
		}
		if r.wallGoal > 0 {
			verdict += fmt.Sprintf(" (goal ≤ %.0f s, all at target, ≥ 99 %%)", r.wallGoal)
		}
		fmt.Fprintf(w, "%-32s %7.1fs %8.1f %10.0f %10.0f %4.0f/%-4.0f %8.2f%% %11.0f %6.2f %5.0fMiB %4d  %s\n", r.title,
			wall, median(m["x-realtime"]), median(m["events/s"]), median(m["actions/s"]), at, nodes,
			delivered, unexplained, median(m["amplification"]), median(m["heap-MiB"]), len(m["wall-s"]), verdict)
	}
	return ok
}
