package main

import (
	"bytes"
	"strings"
	"testing"
)

// sample is `make bench-net` output in the shape go test prints it, ns/op
// included.
const sample = `goos: linux
goarch: amd64
pkg: github.com/p2pcore/p2pcore/node
cpu: AMD EPYC
BenchmarkNetBroadcastLatency-2            	     300	    812345 ns/op	       318.0 node-µs	         1.130 ratio	       281.0 raw-µs
BenchmarkNetBroadcastLatency-2            	     300	    800000 ns/op	       320.0 node-µs	         1.150 ratio	       278.0 raw-µs
BenchmarkNetBroadcastLatency-2            	     300	    790000 ns/op	       310.0 node-µs	         1.100 ratio	       282.0 raw-µs
PASS
ok  	github.com/p2pcore/p2pcore/node	12.3s
BenchmarkNetBroadcastBurst-2              	       2	4206623736 ns/op	      9315 node-msg/s	         0.9593 ratio	         0 raw-lost-%	      9711 raw-msg/s
BenchmarkNetBroadcastBurstRawDefaults-2   	       2	3128920260 ns/op	         3.930 raw-lost-%	      9030 raw-msg/s
BenchmarkNetBroadcastBurstRawDefaults-2   	       2	3128920260 ns/op	         5.000 raw-lost-%	      8000 raw-msg/s
BenchmarkNetDirect-2                      	       2	 900000000 ns/op	 596.52 MB/s	       640.0 node-MiB/s	         0.9000 ratio	       711.0 raw-MiB/s
--- FAIL: BenchmarkNetSomething
PASS
`

func TestParseAndPrint(t *testing.T) {
	var pass bytes.Buffer
	results, err := parse(strings.NewReader(sample), &pass)
	if err != nil {
		t.Fatal(err)
	}
	if got := pass.String(); got != "--- FAIL: BenchmarkNetSomething\n" {
		t.Errorf("passed through %q", got)
	}
	lat := results["BenchmarkNetBroadcastLatency"]
	if n := len(lat["ns/op"]); n != 3 || median(lat["node-µs"]) != 318 || median(lat["ratio"]) != 1.13 {
		t.Errorf("latency: %v", lat)
	}
	if d := results["BenchmarkNetDirect"]; median(d["raw-MiB/s"]) != 711 || median(d["MB/s"]) != 596.52 {
		t.Errorf("direct: %v", d)
	}
	var out bytes.Buffer
	if !print(&out, results) {
		t.Errorf("a goal reported missed:\n%s", out.String())
	}
	// Compare with runs of spaces collapsed: the columns may move.
	var lines []string
	for _, line := range strings.Split(out.String(), "\n") {
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	table := strings.Join(lines, "\n")
	for _, want := range []string{
		"\none-hop broadcast latency, 1 KiB (median) 318 µs 281 µs 1.13 ≤1.2 3 met\n",
		"\nburst of 20,000 × 1 KiB broadcasts 9315 msg/s 9711 msg/s 0.96 ≥0.9 1 met\n",
		"\n(raw GossipSub, same options, lost 0.0% of the burst, median; the node lost none)\n",
		"\ndirect messages, 256 MiB in 1 MiB 640 MiB/s 711 MiB/s 0.90 ≥0.8 1 met\n",
		"\nraw go-libp2p alone, GossipSub at its default options (queues of 32, no flood publishing); not compared:\n" +
			"burst of 20,000 × 1 KiB, raw at defaults 8515 msg/s lost 4.5% of the burst (median of 2 runs)\n",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMissingDefaultsIsNotAFailure(t *testing.T) {
	results, err := parse(strings.NewReader(sample), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	delete(results, rawDefaults)
	var out bytes.Buffer
	if !print(&out, results) {
		t.Error("a missing informational row failed the table")
	}
	if !strings.Contains(out.String(), "not run") {
		t.Errorf("missing row not shown:\n%s", out.String())
	}
}

const simSample = `BenchmarkSim100-2   	       1	     5.0 wall-s	  12.0 x-realtime	 1000 events/s	 2000 actions/s	 100 at-target	 100 nodes	 100 delivered-%	 0 unexplained	 6.4 amplification	 90 heap-MiB	 0 ns/op
BenchmarkSim1000-2  	       1	    40.0 wall-s	   1.5 x-realtime	 1000 events/s	 2000 actions/s	 1000 at-target	 1000 nodes	 99.5 delivered-%	 0 unexplained	 7.0 amplification	 900 heap-MiB	 0 ns/op
BenchmarkSim1000-2  	       1	    44.0 wall-s	   1.4 x-realtime	 1000 events/s	 2000 actions/s	 1000 at-target	 1000 nodes	 99.5 delivered-%	 0 unexplained	 7.0 amplification	 900 heap-MiB	 0 ns/op
BenchmarkSim1000Boot3-2 	   1	    42.0 wall-s	   1.4 x-realtime	 1000 events/s	 2000 actions/s	 999 at-target	 1000 nodes	 99.5 delivered-%	 0 unexplained	 7.0 amplification	 900 heap-MiB	 0 ns/op
`

// The simulator's table: a row per benchmark with medians, and a node below
// its target misses the goal.
func TestPrintSim(t *testing.T) {
	results, err := parse(strings.NewReader(simSample), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if printSim(&out, results) {
		t.Error("a 1,000-node run with a node below target met the goals")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and 3 rows:\n%s", out.String())
	}
	if !strings.Contains(lines[2], "42.0s") || !strings.Contains(lines[2], " met") {
		t.Errorf("1,000 nodes: want the median wall time 42.0 s and the goal met:\n%s", lines[2])
	}
	if !strings.Contains(lines[3], "999/1000") || !strings.Contains(lines[3], "MISSED") {
		t.Errorf("3 bootnodes: want 999/1000 and MISSED:\n%s", lines[3])
	}
}
