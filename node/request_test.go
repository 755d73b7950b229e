package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/node"
	"github.com/p2pcore/p2pcore/reducer"
	"github.com/p2pcore/p2pcore/state"
)

// Request/response over go-libp2p on 127.0.0.1: answers, and every error
// a caller can get (refused, too large both ways, busy both ways,
// timeout, peer gone), with both nodes' logs replayed at the end.
func TestRequestsOverLibp2p(t *testing.T) {
	c := newCluster(t)
	fetch := state.ChannelConfig{Name: "fetch", Kind: state.Request, Version: 1, MaxSize: 1024, QueueLimit: 16}
	otherCfg := state.ChannelConfig{Name: "other", Kind: state.Request, Version: 1, MaxSize: 1024, QueueLimit: 16}
	rules := state.DefaultConfig("test")
	rules.RequestTimeout = 2 * time.Second
	rules.MaxRequestsPerPeer = 2
	withChannels := func(cfg *node.Config) { cfg.Channels = []state.ChannelConfig{fetch, otherCfg} }
	a := c.startWith("a", withChannels, &rules)
	b := c.startWith("b", withChannels, &rules, a)
	waitFor(t, 20*time.Second, describePeers(a, b), func() bool { return readyWith(a, b.ID()) && readyWith(b, a.ID()) })
	chA, _ := a.Channel("fetch")
	chB, _ := b.Channel("fetch")

	release := make(chan struct{})
	var inHandler sync.WaitGroup
	if err := b.Handle(chB, func(ctx context.Context, from state.PeerID, req []byte) ([]byte, error) {
		switch {
		case bytes.HasPrefix(req, []byte("echo ")):
			return append([]byte("from b: "), req[5:]...), nil
		case string(req) == "fail":
			return nil, errors.New("no such block")
		case string(req) == "big":
			return make([]byte, 2000), nil
		case string(req) == "hold":
			inHandler.Done()
			select {
			case <-release:
			case <-ctx.Done():
			}
			return []byte("held"), nil
		case string(req) == "panic":
			panic("handler bug")
		}
		return nil, fmt.Errorf("unknown request %q", req)
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resp, err := a.Request(ctx, b.ID(), chA, []byte("echo hello"))
	if err != nil || string(resp) != "from b: hello" {
		t.Fatalf("echo: %q, %v", resp, err)
	}
	for req, want := range map[string]error{"fail": node.ErrRefused, "panic": node.ErrRefused, "big": node.ErrTooLarge} {
		if _, err := a.Request(ctx, b.ID(), chA, []byte(req)); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", req, err, want)
		}
	}
	if _, err := a.Request(ctx, b.ID(), chA, make([]byte, 1025)); !errors.Is(err, node.ErrTooLarge) {
		t.Errorf("a request over MaxSize: got %v, want ErrTooLarge", err)
	}
	other, _ := a.Channel("other")
	if _, err := a.Request(ctx, b.ID(), other, []byte("x")); !errors.Is(err, node.ErrRefused) {
		t.Errorf("a channel without a handler: got %v, want ErrRefused", err)
	}

	// Busy: b answers at most two of a's requests at once (its side);
	// a has at most two outstanding with b (ours).
	inHandler.Add(2)
	results := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := a.Request(ctx, b.ID(), chA, []byte("hold"))
			results <- err
		}()
	}
	inHandler.Wait()
	if _, err := a.Request(ctx, b.ID(), chA, []byte("echo 3")); !errors.Is(err, node.ErrBusy) {
		t.Errorf("a third request while two wait: got %v, want ErrBusy", err)
	}
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("held request: %v", err)
		}
	}
	// b's side: b may answer a's requests while a has a larger cap.
	rules2 := rules
	rules2.MaxRequestsPerPeer = 4
	d := c.startWith("d", withChannels, &rules2, b)
	waitFor(t, 20*time.Second, describePeers(d, b), func() bool { return readyWith(d, b.ID()) && readyWith(b, d.ID()) })
	chD, _ := d.Channel("fetch")
	hold := make(chan struct{})
	if err := b.Handle(chB, func(ctx context.Context, _ state.PeerID, req []byte) ([]byte, error) {
		if string(req) == "hold" {
			select {
			case <-hold:
			case <-ctx.Done():
			}
		}
		return req, nil
	}); err != nil {
		t.Fatal(err)
	}
	busy := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := d.Request(ctx, b.ID(), chD, []byte("hold"))
			busy <- err
		}()
	}
	gotBusy := false
	for range 3 {
		err := <-busy
		if errors.Is(err, node.ErrBusy) {
			gotBusy = true
			close(hold)
		} else if err != nil && !errors.Is(err, node.ErrTimeout) {
			t.Errorf("held request from d: %v", err)
		}
	}
	if !gotBusy {
		t.Errorf("b never answered busy to d's third request")
	}

	// Timeout: a handler slower than RequestTimeout.
	if err := b.Handle(chB, func(ctx context.Context, _ state.PeerID, _ []byte) ([]byte, error) {
		<-ctx.Done()
		time.Sleep(500 * time.Millisecond)
		return []byte("too late"), nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Request(ctx, b.ID(), chA, []byte("slow")); !errors.Is(err, node.ErrTimeout) {
		t.Errorf("slow handler: got %v, want ErrTimeout", err)
	}

	// Peer gone: b leaves while answering.
	started := make(chan struct{})
	if err := b.Handle(chB, func(ctx context.Context, _ state.PeerID, _ []byte) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	gone := make(chan error, 1)
	go func() {
		_, err := a.Request(ctx, b.ID(), chA, []byte("x"))
		gone <- err
	}()
	<-started
	b.Close()
	if err := <-gone; !errors.Is(err, node.ErrPeerGone) {
		t.Errorf("the peer closed while answering: got %v, want ErrPeerGone", err)
	}
	if _, err := a.Request(ctx, b.ID(), chA, []byte("x")); !errors.Is(err, reducer.ErrUnknownPeer) && !errors.Is(err, reducer.ErrNotReady) {
		t.Errorf("a request to a peer that left: got %v", err)
	}
	var answered, failed uint64
	a.State(ctx, func(s *state.State) { answered, failed = s.Counters.RequestsAnswered, s.Counters.RequestsFailed })
	if answered < 3 || failed < 5 {
		t.Errorf("a counted %d answered and %d failed requests", answered, failed)
	}
	c.closeAndVerify()
}
