// Package sim runs seeded multi-node simulations: many p2pcore stores on
// one simulated network (service/simnet), one virtual clock, a workload of
// broadcasts, and scheduled faults. The same seed gives the same run, byte
// for byte, including the action log each node writes; a failing run can
// be replayed node by node with the replay tools.
package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service/simnet"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// MaxNodes is the largest simulation Config.Validate accepts.
const MaxNodes = 16384

// Epoch is where simulated time starts: 2026-01-01T00:00:00Z.
const Epoch = int64(1767225600) * int64(time.Second)

// Config describes a simulation.
type Config struct {
	Nodes    int
	Seed     uint64
	Duration time.Duration
	// RecordDir, if set, receives one action log per node.
	RecordDir string
	// Network is the network id (default "simnet").
	Network string
	// Bootnodes is how many of the first nodes every node knows at start
	// (default 1).
	Bootnodes int
	// LatencyMin and LatencyMax bound one-way delays (default 10–50 ms).
	LatencyMin, LatencyMax time.Duration
	// LossPPM is the loss rate, per million: it delays a connection's
	// messages and dials (they are sent again) and drops broadcast copies
	// (simnet.Config.LossPPM).
	LossPPM int
	// Gossip shapes the simulated GossipSub mesh (zero: go-libp2p-pubsub's
	// defaults, D 6, Dlo 5, Dhi 12).
	Gossip simnet.GossipConfig
	// TickInterval is each node's Tick period (default 1 s).
	TickInterval time.Duration
	// CheckpointEvery is the log's checkpoint interval (default 1024).
	// Invariants are checked after every input, in part (what the input
	// could break) or in full, and in full at every checkpoint; without a
	// log, at every FullCheckEvery actions of a node (default 16384).
	CheckpointEvery uint64
	FullCheckEvery  uint64
	// TxRate is transactions per second across the network, each from a
	// random node; TxSize their size (defaults 200/s, 200 bytes).
	TxRate int
	TxSize int
	// BlockInterval is the time between blocks, each from a random node;
	// BlockSize their size (defaults 1 s, 1 KiB). Zero values keep the
	// defaults; a negative interval or rate turns the workload off.
	BlockInterval time.Duration
	BlockSize     int
	// WarmUp is how long after the start broadcasts are not counted in the
	// delivery figures (default a third of Duration).
	WarmUp time.Duration
	// Tweak, if set, adjusts a node's configuration.
	Tweak func(i int, c *state.Config)
	// Faults are applied at their times.
	Faults []Fault
	// Sessions, if set, runs a session workload (session.go).
	Sessions *Sessions
}

// FaultKind names a fault.
type FaultKind string

// Faults.
const (
	// FaultPartition cuts Nodes off from the rest.
	FaultPartition FaultKind = "partition"
	// FaultHeal removes a partition.
	FaultHeal FaultKind = "heal"
	// FaultCrash stops Nodes; their peers see the connections drop.
	FaultCrash FaultKind = "crash"
	// FaultSilence freezes Nodes with their connections open.
	FaultSilence FaultKind = "silence"
	// More kinds (restart, one-way cuts, loss bursts, slow nodes, clock
	// steps) are in faults.go.
)

// Fault is a fault scheduled at a time after the start.
type Fault struct {
	At    time.Duration
	Kind  FaultKind
	Nodes []int
	// Value is the loss rate (0–1) of a loss burst, the extra delay of a
	// slow node, or the size of a clock step (either sign).
	Value float64
}

func (c *Config) defaults() {
	if c.Network == "" {
		c.Network = "simnet"
	}
	if c.Bootnodes == 0 {
		c.Bootnodes = 1
	}
	if c.LatencyMin == 0 && c.LatencyMax == 0 {
		c.LatencyMin, c.LatencyMax = 10*time.Millisecond, 50*time.Millisecond
	}
	if c.TickInterval == 0 {
		c.TickInterval = time.Second
	}
	if c.FullCheckEvery == 0 {
		c.FullCheckEvery = 16384
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 1024
	}
	if c.TxRate == 0 {
		c.TxRate = 200
	}
	if c.TxSize == 0 {
		c.TxSize = 200
	}
	if c.BlockInterval == 0 {
		c.BlockInterval = time.Second
	}
	if c.BlockSize == 0 {
		c.BlockSize = 1024
	}
	if c.WarmUp == 0 {
		c.WarmUp = c.Duration / 3
	}
}

// Validate reports the first setting that makes no sense (after the
// defaults are applied), naming it.
func (c Config) Validate() error {
	c.defaults()
	return c.validate()
}

func (c *Config) validate() error {
	switch {
	case c.Nodes < 1 || c.Nodes > MaxNodes:
		return fmt.Errorf("--nodes %d: want 1 to %d", c.Nodes, MaxNodes)
	case c.Duration <= 0:
		return fmt.Errorf("--duration %v: must be positive", c.Duration)
	case c.Bootnodes < 0 || c.Bootnodes > c.Nodes:
		return fmt.Errorf("%d bootnodes for %d nodes", c.Bootnodes, c.Nodes)
	case c.LossPPM < 0 || c.LossPPM > 1_000_000:
		return fmt.Errorf("loss %d ppm: want 0 to 1000000", c.LossPPM)
	case c.LatencyMin < 0 || c.LatencyMax < c.LatencyMin:
		return fmt.Errorf("latency range %v–%v is empty", c.LatencyMin, c.LatencyMax)
	case c.TickInterval <= 0:
		return fmt.Errorf("tick interval %v must be positive", c.TickInterval)
	case c.TxSize < 16 || c.BlockSize < 16:
		return fmt.Errorf("messages need at least 16 bytes for their tracking header")
	}
	for _, f := range c.Faults {
		if err := validFault(f); err != nil {
			return err
		}
		if f.At < 0 || f.At >= c.Duration {
			return fmt.Errorf("fault %s at %v: not within the run (--duration %v)", f.Kind, f.At, c.Duration)
		}
		for _, i := range f.Nodes {
			if i < 0 || i >= c.Nodes {
				return fmt.Errorf("fault %s at %v names node %d of %d", f.Kind, f.At, i, c.Nodes)
			}
		}
	}
	return nil
}

// Node is one simulated node.
type Node struct {
	Index int
	ID    state.PeerID
	Addr  state.Addr
	Store *store.Store
	EP    *simnet.Endpoint
	// clock is one of a slab of the simulation's: every input reads it.
	clock   *nodeClock
	Log     *replay.Writer
	Path    string
	stopped bool

	config state.Config
	// restarts counts the node's restarts; past holds the invariant
	// violations of its earlier lives.
	restarts  int
	past      uint64
	pastFirst error
}

// start gives node n a fresh state and store, and a log named file if the
// simulation records: at the beginning, and after each restart.
func (s *Sim) start(n *Node, seed uint64, file string) error {
	st := state.New(n.config, state.Self{ID: n.ID, ListenAddrs: []state.Addr{n.Addr}}, seed, n.clock.Now())
	// Without a log a checkpoint is only the full invariant check (the
	// address book's walk is its dearest part).
	opts := store.Options{CheckpointEvery: s.cfg.FullCheckEvery, CheckPeers: true}
	n.Log, n.stopped = nil, false
	if s.cfg.RecordDir != "" {
		n.Path = filepath.Join(s.cfg.RecordDir, file)
		w, err := replay.Create(n.Path, replay.NewHeader(st, seed, s.cfg.CheckpointEvery))
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		n.Log = w
		opts.Observer, opts.CheckpointEvery = w, s.cfg.CheckpointEvery
	}
	old := n.Store
	n.Store = store.New(st, n.EP, n.clock, opts)
	if old != nil && n.EP.Target() == simnet.Target(old) {
		n.EP.SetTarget(n.Store) // a restart; else a dispatcher set since has the node's store
	}
	return nil
}

// Sim is a running simulation.
type Sim struct {
	cfg   Config
	Net   *simnet.Network
	Nodes []*Node
	rng   state.RNG
	stats deliveryStats
	// err is the first error met while running (a restarted node's log
	// could not be written), returned by Run.
	err error
	// sessions is the session workload, if any.
	sessions *sessionSim
}

// NodeID names node i.
func NodeID(i int) state.PeerID { return state.PeerID(fmt.Sprintf("node-%03d", i)) }

// NodeAddr is node i's address. Two nodes share each /16, so the
// one-outbound-peer-per-group rule has something to refuse.
func NodeAddr(i int) state.Addr {
	return state.Addr(fmt.Sprintf("/ip4/%d.%d.%d.1/tcp/4001", 10+i/512, (i/2)%256, i%2+1))
}

// New builds a simulation: the network, every node's store and log, and
// the schedule of ticks, workload and faults.
func New(cfg Config) (*Sim, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	if err := cfg.Sessions.Validate(); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &Sim{cfg: cfg, rng: state.NewRNG(cfg.Seed ^ 0x5eed)}
	seeds := state.NewRNG(cfg.Seed)
	s.Net = simnet.New(simnet.Config{Seed: seeds.Uint64(), Start: Epoch,
		LatencyMin: cfg.LatencyMin, LatencyMax: cfg.LatencyMax, LossPPM: cfg.LossPPM, Gossip: cfg.Gossip})
	if cfg.RecordDir != "" {
		if err := os.MkdirAll(cfg.RecordDir, 0o755); err != nil {
			return nil, fmt.Errorf("sim: --record: %w", err)
		}
	}
	var boot []state.PeerAddr
	for i := 0; i < cfg.Bootnodes; i++ {
		boot = append(boot, state.PeerAddr{ID: NodeID(i), Addrs: []state.Addr{NodeAddr(i)}})
	}
	clocks := make([]nodeClock, cfg.Nodes)
	for i := 0; i < cfg.Nodes; i++ {
		c := state.DefaultConfig(cfg.Network)
		c.Bootnodes = boot
		if cfg.Tweak != nil {
			cfg.Tweak(i, &c)
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("sim: node %d: %w", i, err)
		}
		clocks[i].net = s.Net
		n := &Node{Index: i, ID: NodeID(i), Addr: NodeAddr(i), config: c, clock: &clocks[i]}
		n.EP = s.Net.Add(n.ID, n.Addr, nil)
		if err := s.start(n, seeds.Uint64(), fmt.Sprintf("%s.log", n.ID)); err != nil {
			s.Close()
			return nil, err
		}
		n.EP.SetTarget(n.Store)
		index := n.Index // not n.Index in the closure: the node's struct is not otherwise read
		n.EP.OnDeliver = func(_ state.PeerID, _ state.Channel, data []byte) { s.stats.delivered(s.Net.Now(), index, data) }
		s.Nodes = append(s.Nodes, n)
	}
	s.schedule()
	s.setupSessions()
	return s, nil
}

// schedule sets up ticks, the workload and the faults.
func (s *Sim) schedule() {
	cfg, net := &s.cfg, s.Net
	end := Epoch + int64(cfg.Duration)
	for _, n := range s.Nodes {
		n := n
		offset := int64(cfg.TickInterval) * int64(n.Index) / int64(len(s.Nodes))
		var tick func()
		tick = func() {
			n.EP.Input(action.Tick{})
			if net.Now()+int64(cfg.TickInterval) <= end {
				net.After(cfg.TickInterval, tick)
			}
		}
		net.At(Epoch+offset, tick)
	}
	if cfg.TxRate > 0 {
		s.every(time.Second/time.Duration(cfg.TxRate), end, channel.Transaction, cfg.TxSize)
	}
	if cfg.BlockInterval > 0 {
		s.every(cfg.BlockInterval, end, channel.Block, cfg.BlockSize)
	}
	for _, f := range cfg.Faults {
		f := f
		net.At(Epoch+int64(f.At), func() { s.apply(f) })
	}
}

// every broadcasts a message of size bytes on ch from a random node every
// interval.
func (s *Sim) every(interval time.Duration, end int64, ch state.Channel, size int) {
	var fire func()
	fire = func() {
		n := s.Nodes[s.rng.Intn(len(s.Nodes))]
		if !n.EP.Down() && !n.EP.Silent() {
			// Count broadcasts after the warm-up and long enough before the
			// end to arrive everywhere.
			now := s.Net.Now()
			counts := now >= Epoch+int64(s.cfg.WarmUp) && now+int64(time.Second+20*s.cfg.LatencyMax) <= end
			data, t := s.stats.message(now, n.Index, size, counts, s.live()-1)
			before := s.Net.LastMsg()
			s.Net.TrackNext(counts)
			_, err := n.Store.Dispatch(action.BroadcastMessage{Channel: ch, Data: data})
			s.Net.TrackNext(false)
			if err != nil || s.Net.LastMsg() == before {
				s.stats.refuse(t)
			} else if counts {
				t.msg = s.Net.LastMsg()
				t.mark(len(s.Nodes), func(i int) bool { return !s.Nodes[i].EP.Down() && !s.Nodes[i].EP.Silent() },
					func(i int) bool { return s.Nodes[i].EP.Meshed(ch) },
					func(reach []uint64) { s.Net.Reach(n.Index, ch, reach) })
			}
		}
		if s.Net.Now()+int64(interval) < end {
			s.Net.After(interval, fire)
		}
	}
	s.Net.After(interval, fire)
}

func (s *Sim) live() int {
	n := 0
	for _, x := range s.Nodes {
		if !x.EP.Down() && !x.EP.Silent() {
			n++
		}
	}
	return n
}

func (s *Sim) apply(f Fault) {
	var eps []*simnet.Endpoint
	for _, i := range f.Nodes {
		eps = append(eps, s.Nodes[i].EP)
	}
	switch f.Kind {
	case FaultPartition:
		s.Net.Partition(eps)
	case FaultHeal:
		s.Net.Heal()
		s.Net.SetLoss(s.cfg.LossPPM)
	case FaultCrash:
		for i, ep := range eps {
			ep.Crash()
			s.stats.wentDown(f.Nodes[i], s.Net.Now())
		}
	case FaultSilence:
		for i, ep := range eps {
			ep.Silence()
			s.stats.wentDown(f.Nodes[i], s.Net.Now())
		}
	default:
		s.applyMore(f, eps)
	}
}

// RunFor advances the simulation by d.
func (s *Sim) RunFor(d time.Duration) { s.Net.RunUntil(s.Net.Now() + int64(d)) }

// Run runs the simulation to its end, closes the logs, and reports.
func (s *Sim) Run() (*Report, error) {
	s.Net.RunUntil(Epoch + int64(s.cfg.Duration))
	if err := s.Close(); err != nil {
		return nil, err
	}
	if s.err != nil {
		return nil, s.err
	}
	return s.Report(), nil
}

// Close ends every node's log with its final state hash.
func (s *Sim) Close() error {
	s.closeSessions()
	var first error
	for _, n := range s.Nodes {
		if n.Log == nil || n.stopped {
			continue
		}
		n.stopped = true
		h, sections := n.Store.State().Hashes()
		if err := n.Log.End(n.Store.LastID(), h, sections); err != nil && first == nil {
			first = fmt.Errorf("sim: %s: %w", n.ID, err)
		}
	}
	return first
}
