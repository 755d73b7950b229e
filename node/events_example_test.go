package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/p2pcore/p2pcore/node"
)

// Follow a node's peers as the state machine decides about them: a peer
// becomes ready, then leaves and says why.
func ExampleNode_SubscribeEvents() {
	dir, _ := os.MkdirTemp("", "p2pcore-example-")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(name string, bootstrap []string) *node.Node {
		n, err := node.New(node.Config{Network: "example", Listen: []string{"/ip4/127.0.0.1/tcp/0"},
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
	events := a.SubscribeEvents(0)
	defer events.Close()

	b := start("b", a.Addrs())
	next := func() node.Event {
		select {
		case ev := <-events.C():
			return ev
		case <-ctx.Done():
			log.Fatal("no event")
		}
		return node.Event{}
	}
	ev := next()
	fmt.Println(ev.Kind, "— b:", ev.Peer == b.ID(), "direction:", ev.Direction)

	b.Close()
	ev = next()
	fmt.Println(ev.Kind, "— b:", ev.Peer == b.ID(), "their reason:", ev.RemoteReason)
	fmt.Println("events lost:", events.Dropped())
	// Output:
	// peer ready — b: true direction: in
	// peer gone — b: true their reason: shutdown
	// events lost: 0
}

// A summary of the node's state, cheap enough to poll.
func ExampleNode_Snapshot() {
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
	if err := n.Ban(context.Background(), "192.0.2.1", time.Hour, "example"); err != nil {
		log.Fatal(err)
	}

	snap, err := n.Snapshot(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready peers:", snap.Peers.Ready, "bans:", snap.Bans, "stopping:", snap.Stopping)
	// Output: ready peers: 0 bans: 1 stopping: false
}
