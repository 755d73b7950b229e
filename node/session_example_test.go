package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/session"
)

// Chainweb's P2P sessions: three nodes on 127.0.0.1 each run one session
// network per chain ("chain-0", "chain-1"), keeping two sessions of each
// running over their shared connections. The session is the cut exchange:
// both sides send their highest block height per chain until they agree.
// Each node starts with a different cut; the sessions bring all three to
// the highest, and every node's log replays.
func Example_sessions() {
	dir, _ := os.MkdirTemp("", "p2pcore-example-")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var nodes []*node.Node
	var cuts []*session.Cut
	for i, name := range []string{"a", "b", "c"} {
		var boot []string
		if i > 0 {
			boot = nodes[0].Addrs()
		}
		n, err := node.New(node.Config{
			Network: "example", Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: boot,
			DataDir: filepath.Join(dir, name), Record: filepath.Join(dir, name+".log"),
			TickInterval: 50 * time.Millisecond,
		})
		if err != nil {
			log.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			log.Fatal(err)
		}
		nodes = append(nodes, n)
		cut := session.NewCut(2)
		for range i + 1 {
			cut.Advance(i % 2) // a: [1 0], b: [0 2], c: [3 0]
		}
		cuts = append(cuts, cut)
	}
	for len(nodes[0].ReadyPeers()) < 2 || len(nodes[1].ReadyPeers()) < 2 || len(nodes[2].ReadyPeers()) < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	for i, n := range nodes {
		for _, chain := range []string{"chain-0", "chain-1"} {
			// Sessions end when both cuts agree; a new one starts at once.
			if err := n.RunSessions(chain, cuts[i].Session(true), session.Config{Target: 2, Timeout: 5 * time.Second}); err != nil {
				log.Fatal(err)
			}
		}
	}
	want := []uint64{3, 2}
	for ctx.Err() == nil && !(slices.Equal(cuts[0].Heights(), want) && slices.Equal(cuts[1].Heights(), want) && slices.Equal(cuts[2].Heights(), want)) {
		time.Sleep(10 * time.Millisecond)
	}
	for i, name := range []string{"a", "b", "c"} {
		fmt.Println(name, cuts[i].Heights())
	}
	for i, n := range nodes {
		n.Close()
		sum, err := replay.VerifyFile(filepath.Join(dir, []string{"a", "b", "c"}[i]+".log"), replay.Options{CheckInvariants: true})
		fmt.Println("log verified:", err == nil && sum.Complete)
	}
	// Output:
	// a [3 2]
	// b [3 2]
	// c [3 2]
	// log verified: true
	// log verified: true
	// log verified: true
}
