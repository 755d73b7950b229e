package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/state"
)

// An application with channels of its own: two broadcast channels (votes
// before transactions) and a request protocol that serves blocks by
// height.
func Example_customChannels() {
	dir, _ := os.MkdirTemp("", "p2pcore-example-")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	channels := []state.ChannelConfig{
		{Name: "votes", Kind: state.Broadcast, Version: 1, Priority: true, MaxSize: 1 << 10, QueueLimit: 256},
		{Name: "txs", Kind: state.Broadcast, Version: 1, MaxSize: 64 << 10, QueueLimit: 4096},
		{Name: "block-by-height", Kind: state.Request, Version: 1, MaxSize: 4 << 20, QueueLimit: 64},
	}
	start := func(name string, bootstrap []string) *node.Node {
		n, err := node.New(node.Config{Network: "mychain", Channels: channels, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
			Bootstrap: bootstrap, DataDir: filepath.Join(dir, name)})
		if err != nil {
			log.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			log.Fatal(err)
		}
		return n
	}
	a := start("a", nil)
	defer a.Close()
	b := start("b", a.Addrs())
	defer b.Close()
	votes, _ := a.Channel("votes")
	blocks, _ := a.Channel("block-by-height")

	b.Handle(blocks, func(_ context.Context, _ state.PeerID, height []byte) ([]byte, error) {
		return fmt.Appendf(nil, "block at height %s", height), nil
	})
	sub := b.Subscribe(votes)
	for len(a.ReadyPeers()) == 0 || len(a.BroadcastPeers(votes)) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	a.Broadcast(ctx, votes, []byte("vote for block 7"))
	fmt.Printf("b got %q\n", (<-sub.C()).Data)
	block, err := a.Request(ctx, b.ID(), blocks, []byte("7"))
	fmt.Printf("a asked b: %q, %v\n", block, err)
	// Output:
	// b got "vote for block 7"
	// a asked b: "block at height 7", <nil>
}
