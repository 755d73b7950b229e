package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/session"
)

// Sessions is a session workload, Chainweb's in-process prototype on the
// simulated network: every node runs Chains session networks
// ("chain-0", …), each keeping Target sessions of the cut exchange
// (session.Cut) running, all sharing the node's connections. A node
// mines a block on a random chain every BlockEvery (from the simulation's
// seed), so cuts change and sessions carry the news.
type Sessions struct {
	Chains  int
	Target  int
	Timeout time.Duration
	// UntilAgreed ends each session once both cuts agree instead of at
	// its timeout.
	UntilAgreed bool
	// BlockEvery is the time between mined blocks across the network
	// (default 1 s; negative: none).
	BlockEvery time.Duration
}

// Validate reports the first setting of the workload out of range (a nil
// workload is valid: there is none).
func (sc *Sessions) Validate() error {
	switch {
	case sc == nil:
		return nil
	case sc.Chains < 1 || sc.Chains > 64:
		return fmt.Errorf("sessions: %d chains, want 1 to 64", sc.Chains)
	case sc.Target < 1 || sc.Target > 30:
		return fmt.Errorf("sessions: target %d, want 1 to 30", sc.Target)
	case sc.Timeout < 100*time.Millisecond:
		return fmt.Errorf("sessions: timeout %v, want at least 100ms", sc.Timeout)
	}
	return nil
}

// SessionReport is what the session workload measured.
type SessionReport struct {
	// Samples is how many times every node's session counts were sampled
	// after the warm-up; BelowTarget how many (node, chain) samples ran
	// fewer outbound sessions than the target, and MinOutbound the fewest
	// seen.
	Samples     int
	BelowTarget int
	MinOutbound int
	// MaxConnections is the most peers any node had at a sample, and
	// LimitConnections the node's limit (OutboundTarget + MaxInbound).
	MaxConnections   int
	LimitConnections int
	// Started, Succeeded, TimedOut and Failed count sessions across nodes
	// and chains.
	Started, Succeeded, TimedOut, Failed uint64
	// CutSpread is the largest difference, over chains, between the
	// highest and lowest height the nodes' cuts hold at the end.
	CutSpread uint64
}

// String is the report in a few lines.
func (r SessionReport) String() string {
	return fmt.Sprintf("sessions: %d started, %d succeeded, %d timed out, %d failed\n"+
		"after warm-up: %d samples, %d below target, fewest outbound %d; most connections %d (limit %d)\n"+
		"cut spread at the end: %d",
		r.Started, r.Succeeded, r.TimedOut, r.Failed, r.Samples, r.BelowTarget, r.MinOutbound,
		r.MaxConnections, r.LimitConnections, r.CutSpread)
}

// sessionSim is the workload's per-run state.
type sessionSim struct {
	cfg     Sessions
	runners []*session.Runner
	cuts    []*session.Cut
	report  SessionReport
}

// setupSessions gives every node a stepped runner with the chains' cut
// exchange, starts the session networks with the first tick, and samples
// the counts every second after the warm-up.
func (s *Sim) setupSessions() {
	sc := s.cfg.Sessions
	if sc == nil {
		return
	}
	if sc.BlockEvery == 0 {
		sc.BlockEvery = time.Second
	}
	w := &sessionSim{cfg: *sc, report: SessionReport{MinOutbound: sc.Target}}
	s.sessions = w
	net := s.Net
	for _, n := range s.Nodes {
		n := n
		r := session.NewSteppedRunner(func(a action.Action) { net.After(0, func() { n.EP.Input(a) }) })
		cut := session.NewCut(sc.Chains)
		for c := range sc.Chains {
			r.Register(chainName(c), cut.Session(sc.UntilAgreed))
		}
		n.EP.Sessions = r
		w.runners, w.cuts = append(w.runners, r), append(w.cuts, cut)
		net.At(Epoch+int64(time.Millisecond), func() {
			for c := range sc.Chains {
				n.EP.Input(action.StartSessions{Network: chainName(c), Target: sc.Target, Timeout: sc.Timeout,
					BufferMessages: session.DefaultBufferMessages, BufferBytes: session.DefaultBufferBytes,
					MaxMessage: session.DefaultMaxMessage, Budget: session.DefaultBudget})
			}
		})
	}
	end := Epoch + int64(s.cfg.Duration)
	if sc.BlockEvery > 0 {
		var mine func()
		mine = func() {
			w.cuts[s.rng.Intn(len(w.cuts))].Advance(s.rng.Intn(sc.Chains))
			if net.Now()+int64(sc.BlockEvery) < end {
				net.After(sc.BlockEvery, mine)
			}
		}
		net.After(sc.BlockEvery, mine)
	}
	var sample func()
	sample = func() {
		w.sample(s)
		if net.Now()+int64(time.Second) < end {
			net.After(time.Second, sample)
		}
	}
	net.At(Epoch+int64(s.cfg.WarmUp), sample)
}

// closeSessions ends the session callbacks still running, whose
// goroutines would otherwise wait for ever: the run is over.
func (s *Sim) closeSessions() {
	if s.sessions == nil {
		return
	}
	for _, r := range s.sessions.runners {
		r.Close()
	}
}

func chainName(c int) string { return fmt.Sprintf("chain-%d", c) }

// sample checks every live node's outbound sessions and connections.
func (w *sessionSim) sample(s *Sim) {
	w.report.Samples++
	for _, n := range s.Nodes {
		if n.EP.Down() || n.EP.Silent() {
			continue
		}
		st := n.Store.State()
		w.report.LimitConnections = st.Config.OutboundTarget + st.Config.MaxInbound
		w.report.MaxConnections = max(w.report.MaxConnections, len(st.Peers))
		for i := range st.Sessions.Networks {
			out := st.Sessions.Networks[i].Outbound
			if out < w.cfg.Target {
				w.report.BelowTarget++
			}
			w.report.MinOutbound = min(w.report.MinOutbound, out)
		}
	}
}

// SessionReport returns what the session workload measured (the zero
// report without one): counters are read from the nodes' states now.
func (s *Sim) SessionReport() SessionReport {
	w := s.sessions
	if w == nil {
		return SessionReport{}
	}
	r := w.report
	r.Started, r.Succeeded, r.TimedOut, r.Failed = 0, 0, 0, 0
	for _, n := range s.Nodes {
		for _, net := range n.Store.State().Sessions.Networks {
			r.Started += net.Started
			r.Succeeded += net.Succeeded
			r.TimedOut += net.TimedOut
			r.Failed += net.Failed
		}
	}
	for c := range w.cfg.Chains {
		var hs []uint64
		for _, cut := range w.cuts {
			hs = append(hs, cut.Heights()[c])
		}
		r.CutSpread = max(r.CutSpread, slices.Max(hs)-slices.Min(hs))
	}
	return r
}
