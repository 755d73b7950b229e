package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	golibp2p "github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/replay"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// TestFloodOfLargeBroadcasts runs `p2pnode run` as a process of its own
// and has 8 peers publish validly signed 10 MiB junk blocks at it as fast
// as they can for 30 s, while two honest nodes stay connected to it and
// one broadcasts to the other through it (longer, up to a minute, while a
// flooder is still heard: on a loaded machine the target reads fewer
// blocks, and a flooder starved by the others takes longer to be caught).
// The node's memory (its RSS, read
// from /proc) and its action log must stay bounded, the flooders must be
// scored and cut off, the honest pair must stay connected and keep
// gossiping, and the log must verify with --check.
func TestFloodOfLargeBroadcasts(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30-second flood")
	}
	const (
		flooders  = 8
		floodFor  = 30 * time.Second
		floodMax  = 60 * time.Second
		maxGrowth = 300 << 20
		maxLog    = 100 << 20
	)
	bin := p2pnodeBinary(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "target.log")
	target := startTarget(t, bin, dir, logPath)

	// The honest pair: manual connections to the target only (no
	// outbound target of their own, so they never dial each other).
	honest := func(name string) *node.Node {
		rules := state.DefaultConfig("flood")
		rules.OutboundTarget = 0
		n, err := node.New(node.Config{Network: "flood", Listen: []string{"/ip4/127.0.0.1/tcp/0"},
			DataDir: filepath.Join(dir, name), Rules: &rules, TickInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		if err := n.Connect(t.Context(), target.addr); err != nil {
			t.Fatal(err)
		}
		return n
	}
	b, c := honest("b"), honest("c")
	connected := func(n *node.Node) bool {
		for _, p := range n.ReadyPeers() {
			if string(p) == target.id {
				return true
			}
		}
		return false
	}
	waitUntil(t, 20*time.Second, "the honest nodes to be ready with the target", func() bool {
		return connected(b) && connected(c) && len(b.BroadcastPeers(channel.Block)) == 1 && len(c.BroadcastPeers(channel.Block)) == 1
	})
	sub := c.Subscribe(channel.Block)
	var received atomic.Int64
	go func() {
		for m := range sub.C() {
			if strings.HasPrefix(string(m.Data), "honest ") {
				received.Add(1)
			}
		}
	}()
	time.Sleep(time.Second)
	baseRSS, baseLog := target.rss(t), fileSize(logPath)
	t.Logf("before the flood: RSS %d MiB, log %d KiB", baseRSS>>20, baseLog>>10)

	ctx, stop := context.WithTimeout(t.Context(), floodMax)
	defer stop()
	start := time.Now()
	var published atomic.Int64
	var wg sync.WaitGroup
	fl := make([]*flooder, flooders)
	for i := range fl {
		fl[i] = newFlooder(t, target)
		wg.Add(1)
		go func() { defer wg.Done(); fl[i].flood(ctx, &published) }()
	}

	// The honest pair's broadcasts, and the watch.
	var sent, maxRSS, maxLogSize int64
	var lost []string
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		if time.Since(start) >= floodFor && cutOff(fl) {
			stop()
			break
		}
		<-tick.C
		if err := b.Broadcast(t.Context(), channel.Block, []byte(fmt.Sprintf("honest %d", sent))); err == nil {
			sent++
		}
		maxRSS, maxLogSize = max(maxRSS, target.rss(t)), max(maxLogSize, fileSize(logPath))
		if !connected(b) || !connected(c) {
			lost = append(lost, fmt.Sprintf("%v: b %v, c %v", time.Now().Format("15:04:05.000"), connected(b), connected(c)))
		}
	}
	wg.Wait()
	time.Sleep(2 * time.Second)
	t.Logf("flood for %v: %d junk blocks published; target RSS %d → %d MiB at most, log %d KiB → %d MiB at most; honest %d/%d delivered",
		time.Since(start).Round(time.Second), published.Load(), baseRSS>>20, maxRSS>>20, baseLog>>10, maxLogSize>>20, received.Load(), sent)

	if grown := maxRSS - baseRSS; grown >= maxGrowth {
		t.Errorf("the target's RSS grew by %d MiB, the bound is %d MiB", grown>>20, maxGrowth>>20)
	}
	if grown := maxLogSize - baseLog; grown >= maxLog {
		t.Errorf("the target's action log grew by %d MiB, the bound is %d MiB", grown>>20, maxLog>>20)
	}
	if len(lost) > 0 {
		t.Errorf("an honest node lost the target %d times, first %s", len(lost), lost[0])
	}
	if published.Load() < flooders {
		t.Errorf("only %d junk blocks were published: the flood did not happen", published.Load())
	}
	if sent < 50 || received.Load() < sent*9/10 {
		t.Errorf("c received %d of b's %d honest broadcasts", received.Load(), sent)
	}
	for i, f := range fl {
		if f.h.Network().Connectedness(target.peer) == network.Connected {
			t.Errorf("flooder %d is still connected", i)
		}
	}

	// Stop the target; its log verifies with the invariants checked after
	// every input, and shows every flooder scored and banned.
	target.stop(t)
	if keep := os.Getenv("P2PCORE_FLOOD_LOG"); keep != "" {
		data, _ := os.ReadFile(logPath)
		os.WriteFile(keep, data, 0o644)
	}
	if r := cli("replay", "--check", logPath); r.code != 0 {
		t.Fatalf("replay --check\n%v", r)
	}
	rd, err := replay.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rp, err := replay.NewReplayer(rd, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.Run(); err != nil {
		t.Fatal(err)
	}
	st := rp.State()
	for i, f := range fl {
		if _, banned := st.Bans[f.h.ID().String()]; !banned {
			t.Errorf("flooder %d (%s) is not banned; offences %v", i, f.h.ID(), st.Counters.Offences)
		}
	}
	t.Logf("target: offences %v, disconnects %v, throttles %d, author throttles %d, gossip dropped %d (%d MiB)",
		st.Counters.Offences, st.Counters.Disconnects, st.Counters.Throttles, st.Counters.AuthorThrottles,
		st.Counters.GossipDropped, st.Counters.GossipDroppedB>>20)
}

// target is `p2pnode run` in its own process.
type target struct {
	cmd  *exec.Cmd
	addr string
	id   string
	peer peer.ID
	info peer.AddrInfo
	done chan error
}

var listeningRE = regexp.MustCompile(`listening on (/ip4/127\.0\.0\.1/tcp/\d+/p2p/(\S+))`)

func startTarget(t *testing.T, bin, dir, logPath string) *target {
	t.Helper()
	level := "warn"
	if l := os.Getenv("P2PCORE_FLOOD_LEVEL"); l != "" {
		level = l
	}
	args := []string{"run", "--network", "flood", "--data-dir", filepath.Join(dir, "target"),
		"--listen", "/ip4/127.0.0.1/tcp/0", "--record", logPath, "--log-level", level}
	if a := os.Getenv("P2PCORE_FLOOD_HTTP"); a != "" {
		args = append(args, "--http", a)
	}
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), "GODEBUG="+os.Getenv("P2PCORE_FLOOD_GODEBUG"))
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tg := &target{cmd: cmd, done: make(chan error, 1)}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		tg.done <- cmd.Wait()
	}()
	deadline := time.After(30 * time.Second)
	for tg.addr == "" {
		select {
		case l := <-lines:
			if m := listeningRE.FindStringSubmatch(l); m != nil {
				tg.addr, tg.id = m[1], m[2]
			}
		case err := <-tg.done:
			t.Fatalf("p2pnode run exited: %v", err)
		case <-deadline:
			t.Fatal("p2pnode run did not say where it listens")
		}
	}
	info, err := peer.AddrInfoFromString(tg.addr)
	if err != nil {
		t.Fatal(err)
	}
	tg.info, tg.peer = *info, info.ID
	return tg
}

// rss is the process's resident set, from /proc.
func (tg *target) rss(t *testing.T) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tg.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// stop sends SIGINT and waits for the node to end its log.
func (tg *target) stop(t *testing.T) {
	t.Helper()
	tg.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-tg.done:
		if err != nil {
			t.Fatalf("p2pnode run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("p2pnode run did not stop")
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// flooder is a go-libp2p host that says Hello and then writes signed 10
// MiB junk broadcasts on the block topic to the target's GossipSub as fast
// as the target reads them. It signs a few before the flood begins, so
// that on this 2-core machine the flood is limited by the target and not
// by the flooders' own signing, and signs more as it goes.
type flooder struct {
	t    *testing.T
	h    host.Host
	tg   *target
	key  crypto.PrivKey
	junk []byte
	seq  uint64
	pre  [][]byte // RPCs signed before the flood
	// refused counts the times in a row the target refused the flooder
	// or dropped it before it could write a block: once banned, it is
	// refused every time it dials back.
	refused atomic.Int32
}

// cutOff reports whether the target has refused every flooder a few
// times in a row.
func cutOff(fl []*flooder) bool {
	for _, f := range fl {
		if f.refused.Load() < 3 {
			return false
		}
	}
	return true
}

const preSigned = 4

func newFlooder(t *testing.T, tg *target) *flooder {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := golibp2p.New(golibp2p.Identity(priv), golibp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), golibp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	f := &flooder{t: t, h: h, tg: tg, key: priv, junk: make([]byte, 10<<20)}
	rand.Read(f.junk)
	for range preSigned {
		f.pre = append(f.pre, f.next())
	}
	return f
}

// next signs a new broadcast as GossipSub would and frames it as an RPC.
func (f *flooder) next() []byte {
	f.seq++
	topic := p2p.Topic("flood", "block", 1)
	m := &pb.Message{From: []byte(f.h.ID()), Data: f.junk, Seqno: binary.BigEndian.AppendUint64(nil, f.seq), Topic: &topic}
	unsigned, err := proto.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	if m.Signature, err = f.key.Sign(append([]byte("libp2p-pubsub:"), unsigned...)); err != nil {
		f.t.Fatal(err)
	}
	rpc, err := proto.Marshal(&pb.RPC{Publish: []*pb.Message{m}})
	if err != nil {
		f.t.Fatal(err)
	}
	return append(binary.AppendUvarint(nil, uint64(len(rpc))), rpc...)
}

// hello connects and says Hello on the direct protocol, so the flooder is
// a ready peer, as a real attacker would be; it returns the stream to the
// target's GossipSub.
func (f *flooder) hello(ctx context.Context) network.Stream {
	if err := f.h.Connect(ctx, f.tg.info); err != nil {
		return nil
	}
	st, err := f.h.NewStream(ctx, f.tg.peer, p2p.DirectProtocol)
	if err != nil {
		return nil
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	m := message.Marshal(message.Hello{Version: state.ProtocolVersion, Network: "flood", UnixTime: time.Now().Unix(),
		Nonce: binary.LittleEndian.Uint64(nonce[:])})
	st.Write(append(append([]byte{byte(state.ChannelControl)}, binary.AppendUvarint(nil, uint64(len(m)))...), m...))
	gs, err := f.h.NewStream(ctx, f.tg.peer, pubsub.GossipSubID_v11)
	if err != nil {
		return nil
	}
	return gs
}

func (f *flooder) flood(ctx context.Context, published *atomic.Int64) {
	var gs network.Stream
	defer func() {
		if gs != nil {
			gs.Reset()
		}
	}()
	for ctx.Err() == nil {
		if gs == nil {
			if gs = f.hello(ctx); gs == nil {
				f.refused.Add(1)
				time.Sleep(200 * time.Millisecond) // refused: try again
				continue
			}
			// A write blocked by the target ends with the flood.
			st := gs
			stop := context.AfterFunc(ctx, func() { st.Reset() })
			defer stop()
		}
		var rpc []byte
		if len(f.pre) > 0 {
			rpc, f.pre = f.pre[0], f.pre[1:]
		} else {
			rpc = f.next()
		}
		if _, err := gs.Write(rpc); err != nil {
			if f.h.Network().Connectedness(f.tg.peer) != network.Connected {
				f.refused.Add(1)
				gs = nil // dropped: dial back
			}
			continue
		}
		f.refused.Store(0)
		published.Add(1)
	}
}
