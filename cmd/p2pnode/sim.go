package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/p2pcore/p2pcore/internal/progress"
	"github.com/p2pcore/p2pcore/sim"
	"github.com/p2pcore/p2pcore/state"
)

func runSim(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", "", stdout)
	var (
		cfg      sim.Config
		seed     = fs.Uint64("seed", 1, "seed of the whole run; the same seed gives the same run and logs")
		jsonOut  = fs.Bool("json", false, "print the report as JSON")
		loss     = fs.Float64("loss", 0, "fraction of messages and dials lost (0 to 1)")
		latency  = fs.String("latency", "10ms-50ms", "one-way latency range MIN-MAX")
		faults   faultList
		nodes    = fs.Int("nodes", 10, "number of nodes")
		duration = fs.Duration("duration", 60*time.Second, "simulated time to run (with --seeds: 1m30s unless given)")
	)
	fs.StringVar(&cfg.RecordDir, "record", "", "write one action log per node into `DIR`")
	fs.Uint64Var(&cfg.CheckpointEvery, "checkpoint-every", 1024, "state-hash checkpoint every `N` actions in the logs (1 pins a divergence to its action)")
	fs.StringVar(&cfg.Network, "network", "simnet", "network id")
	fs.IntVar(&cfg.Bootnodes, "bootnodes", 1, "how many of the first nodes are bootnodes")
	fs.IntVar(&cfg.TxRate, "tx-rate", 200, "transactions per second across the network (negative: none)")
	fs.DurationVar(&cfg.BlockInterval, "block-interval", time.Second, "time between blocks (negative: none)")
	fs.Var(&faults, "fault", "schedule a fault AT:KIND[:NODES][:VALUE] (repeatable): partition, oneway, crash, silence, restart (NODES); "+
		"loss (VALUE: rate 0-1, e.g. 20s:loss:0.3); slow and clock (NODES:VALUE in seconds, e.g. 20s:slow:3:0.5, 20s:clock:4:-5); heal; "+
		"e.g. 20s:partition:0-4, 30s:crash:3, 35s:restart:3, 40s:heal")
	capability := fs.String("capability", "", "discovery by capability through the simulated DHT: `NAME:EVERY`, every node wanting 4 peers of NAME, which every EVERY-th node advertises (e.g. archival:10)")
	seeds := fs.String("seeds", "", "explore the seeds `FROM-TO`: one run per seed with --faults random, checking safety and liveness")
	faultMode := fs.String("faults", "", "with --seeds: \"random\" draws each seed's fault schedule from the seed")
	jobs := fs.Int("jobs", 0, "with --seeds: runs at once (default: every core)")
	settle := fs.Duration("settle", 30*time.Second, "with --seeds: time the network has to recover after the faults heal")
	sessions := fs.String("sessions", "", "run Chainweb sessions: `CHAINSxTARGET` session networks per node, each keeping TARGET cut-exchange sessions (e.g. 10x10)")
	sessionTimeout := fs.Duration("session-timeout", 20*time.Second, "with --sessions: mean session timeout")
	hugePages := fs.Bool("huge-pages", true, "ask Linux to back the simulation's heap with transparent huge pages (faster for large networks; no effect elsewhere)")
	rulesFile := fs.String("rules", "", "every node's protocol settings from the JSON object in `FILE` (the keys of run's \"rules\"; a key left out keeps its default)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	cfg.Seed, cfg.Nodes, cfg.Duration, cfg.Faults = *seed, *nodes, *duration, faults
	if !(*loss >= 0 && *loss <= 1) { // also refuses NaN
		return usagef("--loss %v: want a fraction from 0 to 1", *loss)
	}
	cfg.LossPPM = int(*loss * 1e6)
	if cfg.LatencyMin, cfg.LatencyMax, err = parseRange(*latency); err != nil {
		return usagef("--latency %q: %v", *latency, err)
	}
	var sc *sim.CapabilityScenario
	if *capability != "" {
		name, every, ok := strings.Cut(*capability, ":")
		n, err := strconv.Atoi(every)
		if !ok || err != nil || n < 1 || !state.ValidCapability(name) {
			return usagef("--capability %q: want NAME:EVERY, e.g. archival:10", *capability)
		}
		sc = &sim.CapabilityScenario{Capability: name, Every: n}
		sc.Apply(&cfg)
	}
	if *rulesFile != "" {
		rules, err := readRules(*rulesFile, cfg.Network)
		if err != nil {
			return err
		}
		before := cfg.Tweak
		cfg.Tweak = func(i int, c *state.Config) {
			network, boot, channels := c.Network, c.Bootnodes, c.Channels
			*c = rules
			c.Network, c.Bootnodes, c.Channels = network, boot, channels
			if before != nil {
				before(i, c)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	if err := sim.CheckRestarts(faults); err != nil {
		return usagef("%v", err)
	}
	if *sessions != "" {
		if cfg.Sessions, err = parseSessions(*sessions, *sessionTimeout); err != nil {
			return usagef("--sessions %q: %v", *sessions, err)
		}
		target, before := cfg.Sessions.Target, cfg.Tweak
		cfg.Tweak = func(i int, c *state.Config) {
			if before != nil {
				before(i, c)
			}
			c.OutboundTarget = max(c.OutboundTarget, target+2)
		}
	}
	if *seeds != "" || *faultMode != "" {
		if *faultMode != "random" || *seeds == "" || len(faults) > 0 {
			return usagef("--seeds FROM-TO goes with --faults random (and no --fault)")
		}
		from, to, err := parseRangeOf(*seeds, "seeds")
		if err != nil {
			return usagef("--seeds %q: %v", *seeds, err)
		}
		if cfg.RecordDir != "" && from != to {
			return usagef("--record with --seeds records one seed: give --seeds N-N")
		}
		// Faults heal at 45 % of a run and the network then has
		// --settle to recover: a minute leaves no time to check it.
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "duration" })
		if !given {
			cfg.Duration = sim.ExploreDuration
		}
		e := sim.Explorer{Base: cfg, Settle: *settle, Jobs: *jobs}
		if _, _, err := e.Window(); err != nil {
			return usagef("--duration %v with --seeds: %v", cfg.Duration, err)
		}
		sim.TuneExplorerGC()
		return explore(e, from, to, args, stdout, stderr)
	}
	sim.TuneGC()
	if *hugePages {
		defer sim.BackWithHugePages()()
	}
	s, err := sim.New(cfg)
	if err != nil {
		return err
	}
	meter := progress.New(stderr, "sim", cfg.Duration.Seconds(), progress.Seconds)
	report, err := s.RunReporting(time.Second, func(t time.Duration) { meter.Update(t.Seconds()) })
	meter.Done()
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		report.WriteText(stdout)
		if cfg.Sessions != nil {
			fmt.Fprintln(stdout, s.SessionReport())
		}
		if cfg.RecordDir != "" {
			fmt.Fprintf(stdout, "logs: %s (verify them all with: p2pnode replay %s)\n", cfg.RecordDir, cfg.RecordDir)
		}
	}
	if sc != nil {
		reached, total := sc.Reached(s)
		fmt.Fprintf(stdout, "capability %s: %d of %d nodes have %d peers with it in their address book (or all there are)\n",
			sc.Capability, reached, total, s.Nodes[0].Store.State().Config.WantPeersPerCapability)
		if reached < total {
			fmt.Fprintf(stderr, "p2pnode sim: %d nodes did not find their %s peers\n", total-reached, sc.Capability)
			return errQuiet
		}
	}
	if report.Violations > 0 {
		fmt.Fprintf(stderr, "p2pnode sim: %d invariant violations; reproduce with: p2pnode %s\n",
			report.Violations, strings.Join(append([]string{"sim"}, args...), " "))
		return errQuiet
	}
	return nil
}

// parseSessions reads CHAINSxTARGET.
func parseSessions(s string, timeout time.Duration) (*sim.Sessions, error) {
	a, b, ok := strings.Cut(s, "x")
	chains, err1 := strconv.Atoi(a)
	target, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("want CHAINSxTARGET, e.g. 10x10")
	}
	sc := &sim.Sessions{Chains: chains, Target: target, Timeout: timeout}
	return sc, sc.Validate()
}

func parseRange(s string) (lo, hi time.Duration, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if lo, err = time.ParseDuration(a); err != nil {
		return 0, 0, err
	}
	if hi, err = time.ParseDuration(b); err != nil {
		return 0, 0, err
	}
	if lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("empty range")
	}
	return lo, hi, nil
}

// faultList collects --fault flags.
type faultList []sim.Fault

func (f *faultList) String() string { return fmt.Sprint(*f) }

func (f *faultList) Set(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 4 {
		return fmt.Errorf("want AT:KIND[:NODES][:VALUE], got %q", v)
	}
	at, err := time.ParseDuration(parts[0])
	if err != nil {
		return fmt.Errorf("fault time %q: %v", parts[0], err)
	}
	kind := sim.FaultKind(parts[1])
	if !slices.Contains(sim.FaultKinds, kind) {
		return fmt.Errorf("fault kind %q: want one of %v", parts[1], sim.FaultKinds)
	}
	fault := sim.Fault{At: at, Kind: kind}
	value := ""
	switch {
	case kind == sim.FaultLoss && len(parts) == 3:
		value, parts = parts[2], parts[:2]
	case kind == sim.FaultLoss:
		return fmt.Errorf("fault %q: want AT:loss:RATE", v)
	case kind == sim.FaultSlow || kind == sim.FaultClock:
		if len(parts) != 4 {
			return fmt.Errorf("fault %q: want AT:%s:NODES:SECONDS", v, kind)
		}
		value, parts = parts[3], parts[:3]
	case len(parts) == 4:
		return fmt.Errorf("fault %q: %s takes no value", v, kind)
	}
	if value != "" {
		x, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("fault %q: value %q is not a number", v, value)
		}
		fault.Value = x
	}
	if len(parts) == 3 {
		for _, r := range strings.Split(parts[2], ",") {
			a, b, isRange := strings.Cut(r, "-")
			lo, err1 := strconv.Atoi(a)
			hi := lo
			var err2 error
			if isRange {
				hi, err2 = strconv.Atoi(b)
			}
			if err1 != nil || err2 != nil || hi < lo || lo < 0 {
				return fmt.Errorf("fault nodes %q: want numbers or ranges like 0-4,7", parts[2])
			}
			if hi >= sim.MaxNodes {
				// Checked before the range is expanded: 0-2000000000 would
				// otherwise allocate gigabytes.
				return fmt.Errorf("fault nodes %q: node %d is beyond the largest simulation (%d nodes)", parts[2], hi, sim.MaxNodes)
			}
			for i := lo; i <= hi; i++ {
				fault.Nodes = append(fault.Nodes, i)
			}
		}
	}
	*f = append(*f, fault)
	return nil
}

// explore runs the fault explorer over seeds from..to and prints every
// failing seed with the command that reproduces it and records its logs.
func explore(e sim.Explorer, from, to uint64, args []string, stdout, stderr io.Writer) error {
	var seeds []uint64
	for s := from; s <= to; s++ {
		seeds = append(seeds, s)
	}
	meter := progress.New(stderr, "explore", float64(len(seeds)), nil)
	done, failed := 0, 0
	start := time.Now()
	e.Run(seeds, func(v sim.Verdict) {
		done++
		meter.Update(float64(done))
		if !v.Failed() {
			return
		}
		failed++
		fmt.Fprintf(stdout, "seed %d FAILED (faults %v):\n", v.Seed, v.Faults)
		for _, p := range v.Problems {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
		fmt.Fprintf(stdout, "  reproduce and record: p2pnode %s\n", strings.Join(reproduce(args, v.Seed), " "))
	})
	meter.Done()
	fmt.Fprintf(stdout, "explored %d seeds (%d nodes, %v each, random faults) in %v: %d failed\n",
		len(seeds), e.Base.Nodes, e.Base.Duration, time.Since(start).Round(time.Second), failed)
	if failed > 0 {
		return errQuiet
	}
	return nil
}

// reproduce is the command line that reruns one seed and records it.
func reproduce(args []string, seed uint64) []string {
	out := []string{"sim"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "seeds" || name == "jobs" || name == "record" {
			if !inline {
				i++
			}
			continue
		}
		out = append(out, a)
	}
	return append(out, "--seeds", fmt.Sprintf("%d-%d", seed, seed), "--record", fmt.Sprintf("seed-%d", seed))
}
