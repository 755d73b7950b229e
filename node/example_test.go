package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

// Two nodes on 127.0.0.1: the second bootstraps from the first, they
// handshake, and a block broadcast by one reaches the other. Both record
// their actions; after Close each log replays and verifies.
func Example() {
	dir, _ := os.MkdirTemp("", "p2pcore-example-")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	start := func(name string, bootstrap []string) *node.Node {
		n, err := node.New(node.Config{
			Network:   "example",
			Listen:    []string{"/ip4/127.0.0.1/tcp/0"},
			Bootstrap: bootstrap,
			DataDir:   filepath.Join(dir, name),
			Record:    filepath.Join(dir, name+".log"),
		})
		if err != nil {
			log.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			log.Fatal(err)
		}
		return n
	}
	a := start("a", nil)
	b := start("b", a.Addrs())
	blocks := b.Subscribe(channel.Block)

	// Wait until GossipSub on a knows that b listens for blocks.
	for len(a.BroadcastPeers(channel.Block)) == 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.Broadcast(ctx, channel.Block, []byte("block #1")); err != nil {
		log.Fatal(err)
	}
	select {
	case m := <-blocks.C():
		fmt.Printf("b received %q from a: %v\n", m.Data, m.From == a.ID())
	case <-ctx.Done():
		log.Fatal("no block")
	}

	b.Close()
	a.Close()
	for _, name := range []string{"a", "b"} {
		sum, err := replay.VerifyFile(filepath.Join(dir, name+".log"), replay.Options{CheckInvariants: true})
		fmt.Printf("%s.log verified: %v\n", name, err == nil && sum.Complete)
	}
	// Output:
	// b received "block #1" from a: true
	// a.log verified: true
	// b.log verified: true
}

// Read a copy of the node's state: here, two of its rules. The copy is
// the caller's; changing it changes nothing in the node.
func ExampleNode_State() {
	dir, _ := os.MkdirTemp("", "p2pcore-example-")
	defer os.RemoveAll(dir)
	n, err := node.New(node.Config{Network: "example", Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer n.Close()

	var target, maxInbound int
	n.State(context.Background(), func(s *state.State) {
		target, maxInbound = s.Config.OutboundTarget, s.Config.MaxInbound
	})
	fmt.Println("outbound target", target, "max inbound", maxInbound, "peers", len(n.Peers()))
	// Output: outbound target 8 max inbound 64 peers 0
}
