package sim

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// The fault explorer runs one simulation per seed, each with a fault
// schedule drawn from its seed, and checks two things: safety — no
// invariant breaks, after any input — and liveness — once the faults have
// healed and the network has had Settle to recover, every live node is at
// its outbound target and every broadcast published from then on reaches
// every live node.

// Explorer sweeps seeds.
type Explorer struct {
	// Base is the simulation each seed runs (Seed and Faults are set per
	// seed). Its Duration must leave room for the faults, Settle and the
	// broadcasts checked after them.
	Base Config
	// Settle is how long after the last fault heals the network has to
	// recover (default 30 s).
	Settle time.Duration
	// Jobs is how many seeds run at once (default: every core).
	Jobs int
}

// Verdict is what one seed's run showed.
type Verdict struct {
	Seed   uint64
	Faults []Fault
	// Problems is empty when the run held; otherwise each entry says what
	// failed.
	Problems []string
	Report   *Report
}

// Failed reports whether the run broke safety or liveness.
func (v Verdict) Failed() bool { return len(v.Problems) > 0 }

// faultWindow is where a random schedule puts its faults: from 10 % of
// the run to healAt, a fraction of it.
const healFraction = 0.45

// RandomFaults draws a fault schedule from seed for a run of nodes and
// duration: one to five faults between 10 % and 45 % of the run — a
// partition of a random part of the network, a one-way cut, a crash
// (restarted later, with the peer store the node saved, half of the time),
// a frozen node, a burst of 5–40 % loss, a node slowed by 0.1–2 s, a
// clock stepped by up to half of MaxClockSkew either way — never touching
// node 0 (the bootnode) and never downing more than a third of the nodes;
// at 45 % of the run everything heals (crashed nodes not restarted and
// frozen nodes stay down; clock steps stay).
func RandomFaults(seed uint64, nodes int, duration time.Duration) []Fault {
	rng := state.NewRNG(seed ^ 0xfa017)
	start, heal := duration/10, time.Duration(float64(duration)*healFraction)
	at := func() time.Duration { return start + time.Duration(rng.Uint64()%uint64(heal-start)) }
	node := func() int { return 1 + int(rng.Uint64()%uint64(nodes-1)) }
	group := func() []int {
		var g []int
		for i := 1; i < nodes; i++ {
			if rng.Uint64()%3 == 0 {
				g = append(g, i)
			}
		}
		return g
	}
	var faults []Fault
	down := 0
	budget := max(1, nodes/3)
	for n := 1 + int(rng.Uint64()%5); n > 0; n-- {
		switch k := rng.Uint64() % 8; {
		case k == 0 || k == 1:
			kind := FaultPartition
			if k == 1 {
				kind = FaultOneWay
			}
			if g := group(); len(g) > 0 {
				faults = append(faults, Fault{At: at(), Kind: kind, Nodes: g})
			}
		case k == 2 || k == 3:
			if down >= budget || nodes < 3 {
				continue
			}
			kind := FaultCrash
			if k == 3 {
				kind = FaultSilence
			}
			f := Fault{At: at(), Kind: kind, Nodes: []int{node()}}
			faults = append(faults, f)
			if kind == FaultCrash && rng.Uint64()%2 == 0 {
				back := f.At + time.Duration(rng.Uint64()%uint64(heal-f.At+1))
				faults = append(faults, Fault{At: back, Kind: FaultRestart, Nodes: f.Nodes})
				continue // it comes back: it does not count as down
			}
			down++
		case k == 4:
			faults = append(faults, Fault{At: at(), Kind: FaultLoss, Value: 0.05 + float64(rng.Uint64()%36)/100})
		case k == 5:
			faults = append(faults, Fault{At: at(), Kind: FaultSlow, Nodes: []int{node()}, Value: 0.1 + float64(rng.Uint64()%20)/10})
		case k == 6 && nodes >= 3:
			half := state.DefaultConfig("").MaxClockSkew.Seconds() / 2
			step := float64(rng.Uint64()%uint64(2*half*10+1))/10 - half
			faults = append(faults, Fault{At: at(), Kind: FaultClock, Nodes: []int{node()}, Value: step})
		}
	}
	faults = append(faults, Fault{At: heal, Kind: FaultHeal})
	slices.SortStableFunc(faults, func(a, b Fault) int { return int(a.At - b.At) })
	return faults
}

// ExploreDuration is the run length the fault explorer needs at its
// default settle time: faults heal at 45 % of the run, the network has
// 30 s to settle, and broadcasts after that are checked until 5 s before
// the end.
const ExploreDuration = 90 * time.Second

// Window is the stretch of each run in which liveness is checked, from
// the end of the settle time to 5 s before the end; an error says that
// the run is too short to hold one.
func (e Explorer) Window() (from, until time.Duration, err error) {
	settle := e.Settle
	if settle == 0 {
		settle = 30 * time.Second
	}
	healed := time.Duration(float64(e.Base.Duration) * healFraction)
	from, until = healed+settle, e.Base.Duration-5*time.Second
	if until <= from {
		return 0, 0, fmt.Errorf("a run of %v leaves no time to check broadcasts after the faults heal (%v) and settle (%v)", e.Base.Duration, healed, settle)
	}
	return from, until, nil
}

// One runs a seed and judges it.
func (e Explorer) One(seed uint64) Verdict {
	cfg := e.Base
	cfg.Seed = seed
	cfg.Faults = RandomFaults(seed, cfg.Nodes, cfg.Duration)
	v := Verdict{Seed: seed, Faults: cfg.Faults}
	from, until, err := e.Window()
	if err != nil {
		v.Problems = append(v.Problems, err.Error())
		return v
	}
	cfg.WarmUp = from
	s, err := New(cfg)
	if err != nil {
		v.Problems = append(v.Problems, err.Error())
		return v
	}
	live := trackLiveness(s, Epoch+int64(from), Epoch+int64(until))
	report, err := s.Run()
	if err != nil {
		v.Problems = append(v.Problems, err.Error())
		return v
	}
	v.Report = report
	if report.Violations > 0 {
		for _, n := range report.PerNode {
			if n.Violations > 0 {
				v.Problems = append(v.Problems, fmt.Sprintf("safety: %s broke an invariant %d times, first: %s", n.ID, n.Violations, n.FirstViolation))
			}
		}
	}
	for _, n := range report.PerNode {
		if !n.Down && !n.AtTarget {
			v.Problems = append(v.Problems, fmt.Sprintf("liveness: %s has %d of %d outbound peers %v after the faults healed",
				n.ID, n.OutboundReady, n.OutboundTarget, cfg.Duration-time.Duration(float64(cfg.Duration)*healFraction)))
		}
	}
	v.Problems = append(v.Problems, live.missing(s)...)
	return v
}

// liveness tracks the broadcasts published in the checked window and who
// received them.
type liveness struct {
	from, until int64
	sent        map[uint64]int // message → origin
	got         map[uint64]map[int]bool
	order       []uint64
}

func trackLiveness(s *Sim, from, until int64) *liveness {
	l := &liveness{from: from, until: until, sent: map[uint64]int{}, got: map[uint64]map[int]bool{}}
	for _, n := range s.Nodes {
		n := n
		dispatch := func(a action.Action) {
			if b, ok := a.(action.BroadcastMessage); ok && len(b.Data) >= 8 {
				if now := s.Net.Now(); now >= l.from && now <= l.until {
					id := binary.BigEndian.Uint64(b.Data)
					l.sent[id] = n.Index
					l.order = append(l.order, id)
				}
			}
			n.Store.Dispatch(a)
		}
		n.EP.SetDispatcher(dispatch)
		deliver := n.EP.OnDeliver
		n.EP.OnDeliver = func(from state.PeerID, ch state.Channel, data []byte) {
			if deliver != nil {
				deliver(from, ch, data)
			}
			if len(data) >= 8 {
				id := binary.BigEndian.Uint64(data)
				if l.got[id] == nil {
					l.got[id] = map[int]bool{}
				}
				l.got[id][n.Index] = true
			}
		}
	}
	return l
}

// missing lists the checked broadcasts some live node never received
// (at most five, and a count).
func (l *liveness) missing(s *Sim) []string {
	var out []string
	lost := 0
	for _, id := range l.order {
		origin := l.sent[id]
		var not []string
		for _, n := range s.Nodes {
			if n.Index == origin || n.EP.Down() || n.EP.Silent() || l.got[id][n.Index] {
				continue
			}
			not = append(not, string(n.ID))
		}
		if len(not) > 0 {
			lost++
			if len(out) < 5 {
				out = append(out, fmt.Sprintf("liveness: broadcast %x from %s never reached %v", id, s.Nodes[origin].ID, not))
			}
		}
	}
	if lost > len(out) {
		out = append(out, fmt.Sprintf("liveness: %d of %d broadcasts after the faults healed missed a live node", lost, len(l.order)))
	}
	return out
}

// Run judges every seed, Jobs at a time, and calls each with every
// verdict in seed order.
func (e Explorer) Run(seeds []uint64, each func(Verdict)) {
	jobs := e.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	results := make([]chan Verdict, len(seeds))
	for i := range results {
		results[i] = make(chan Verdict, 1)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] <- e.One(seeds[i])
			}
		}()
	}
	go func() {
		for i := range seeds {
			work <- i
		}
		close(work)
	}()
	for i := range seeds {
		each(<-results[i])
	}
	wg.Wait()
}
