// Command benchtable reads `go test -bench` output of the node-vs-raw
// benchmarks (package node, BenchmarkNet*) on stdin and prints one table
// row per benchmark: the median node figure, the median raw go-libp2p
// figure (raw GossipSub runs with the node's options), the median ratio and
// the goal. Below the table, on lines of their own, come figures that are
// not compared with the node: raw GossipSub's burst at go-libp2p's default
// options (BenchmarkNetBroadcastBurstRawDefaults). With -sim it tables the
// simulator's benchmarks instead (package sim, BenchmarkSim*). Lines that are not
// benchmark results are passed through to stderr so failures stay visible.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// goal describes how one benchmark is judged: which metrics are the node's
// and raw go-libp2p's, and the bound on the ratio.
type goal struct {
	title     string
	node, raw string
	unit      string
	// atMost is true when lower is better (latency).
	atMost bool
	bound  float64
}

var goals = map[string]goal{
	"BenchmarkNetBroadcastLatency": {"one-hop broadcast latency, 1 KiB (median)", "node-µs", "raw-µs", "µs", true, 1.2},
	"BenchmarkNetBroadcastBurst":   {"burst of 20,000 × 1 KiB broadcasts", "node-msg/s", "raw-msg/s", "msg/s", false, 0.9},
	"BenchmarkNetDirect":           {"direct messages, 256 MiB in 1 MiB", "node-MiB/s", "raw-MiB/s", "MiB/s", false, 0.8},
}

var order = []string{"BenchmarkNetBroadcastLatency", "BenchmarkNetBroadcastBurst", "BenchmarkNetDirect"}

// rawDefaults is raw GossipSub alone at go-libp2p's default options: what
// it loses in the burst, and its rate. It has no node figure and no goal.
const rawDefaults = "BenchmarkNetBroadcastBurstRawDefaults"

func main() {
	results, err := parse(os.Stdin, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	table := print
	if len(os.Args) > 1 && os.Args[1] == "-sim" {
		table = printSim
	}
	if !table(os.Stdout, results) {
		os.Exit(1)
	}
}

// parse collects every metric of every run of each benchmark.
func parse(r io.Reader, passthrough io.Writer) (map[string]map[string][]float64, error) {
	out := map[string]map[string][]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			if !boring(line) {
				fmt.Fprintln(passthrough, line)
			}
			continue
		}
		name, _, _ := strings.Cut(f[0], "-") // drop the -GOMAXPROCS suffix
		m := out[name]
		if m == nil {
			m = map[string][]float64{}
			out[name] = m
		}
		// f[1] is the iteration count; then value/unit pairs.
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %q: value %q: %v", line, f[i], err)
			}
			m[f[i+1]] = append(m[f[i+1]], v)
		}
	}
	return out, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// print writes the table and reports whether every goal was met.
func print(w io.Writer, results map[string]map[string][]float64) bool {
	ok := true
	fmt.Fprintf(w, "%-44s %14s %14s %6s %6s %4s  %s\n", "benchmark (node vs raw go-libp2p)", "node", "raw", "ratio", "goal", "runs", "verdict")
	for _, name := range order {
		g, m := goals[name], results[name]
		if m == nil {
			fmt.Fprintf(w, "%-44s not run\n", g.title)
			ok = false
			continue
		}
		ratio := median(m["ratio"])
		met, cmp := ratio >= g.bound, "≥"
		if g.atMost {
			met, cmp = ratio <= g.bound, "≤"
		}
		verdict := "met"
		if !met {
			verdict, ok = "MISSED", false
		}
		fmt.Fprintf(w, "%-44s %14s %14s %6.2f %6s %4d  %s\n", g.title,
			fmt.Sprintf("%.0f %s", median(m[g.node]), g.unit), fmt.Sprintf("%.0f %s", median(m[g.raw]), g.unit),
			ratio, fmt.Sprintf("%s%.1f", cmp, g.bound), len(m["ratio"]), verdict)
		if lost := m["raw-lost-%"]; lost != nil {
			fmt.Fprintf(w, "%-44s (raw GossipSub, same options, lost %.1f%% of the burst, median; the node lost none)\n", "", median(lost))
		}
	}
	// Not a comparison: raw go-libp2p on its own, at its defaults.
	fmt.Fprintf(w, "\nraw go-libp2p alone, GossipSub at its default options (queues of 32, no flood publishing); not compared:\n")
	title := "burst of 20,000 × 1 KiB, raw at defaults"
	if m := results[rawDefaults]; m == nil {
		fmt.Fprintf(w, "%-44s not run\n", title)
	} else {
		fmt.Fprintf(w, "%-44s %14s %14s  lost %.1f%% of the burst (median of %d runs)\n", title, "",
			fmt.Sprintf("%.0f msg/s", median(m["raw-msg/s"])), median(m["raw-lost-%"]), len(m["raw-lost-%"]))
	}
	return ok
}

// boring reports the header and footer lines of go test output.
func boring(line string) bool {
	for _, p := range []string{"goos:", "goarch:", "pkg:", "cpu:", "PASS", "ok "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return strings.TrimSpace(line) == ""
}
