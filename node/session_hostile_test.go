package node_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/session"
	"github.com/p2pcore/p2pcore/state"
)

// readSessionFrame reads one session frame: its type and body.
func readSessionFrame(br *bufio.Reader) (byte, []byte, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return 0, nil, err
	}
	if n == 0 || n > 1<<16 {
		return 0, nil, errors.New("bad frame length")
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(br, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

func sessionFrame(typ byte, body []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(body)+1))
	return append(append(b, typ), body...)
}

// TestSessionStreamsFromARawPeer: a peer speaking the session protocol by
// hand. A network the node does not run is refused with an abort frame
// saying "unsupported"; a message is echoed by the node's session and the
// peer's close ends it as a success; an oversized frame fails the session
// and nothing else: the peer stays connected.
func TestSessionStreamsFromARawPeer(t *testing.T) {
	c := newCluster(t)
	n := c.start("n", nil)
	var mu sync.Mutex
	var ends []error
	echo := func(ctx context.Context, conn session.Conn) error {
		var err error
		for err == nil {
			var msg []byte
			if msg, err = conn.Receive(ctx); err == nil {
				err = conn.Send(ctx, msg)
			}
		}
		mu.Lock()
		ends = append(ends, err)
		mu.Unlock()
		if errors.Is(err, session.ErrClosed) {
			return nil
		}
		return err
	}
	if err := n.RunSessions("chain-0", echo, session.Config{Target: 2, Timeout: time.Minute, MaxMessage: 64, BufferBytes: 1024}); err != nil {
		t.Fatal(err)
	}
	r := newRawPeer(t)
	r.connect(n)
	r.hello("test", time.Now().Unix())
	r.waitMsg("a HelloAck", func(m message.Message) bool { _, ok := m.(message.HelloAck); return ok })
	waitFor(t, 10*time.Second, func() string { return "the raw peer to be ready" }, func() bool { return readyWith(n, state.PeerID(r.h.ID().String())) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(name string) (network.Stream, *bufio.Reader) {
		st, err := r.h.NewStream(ctx, r.target, protocol.ID("/p2pcore/test/session/"+name+"/1"))
		if err != nil {
			t.Fatalf("opening %s: %v", name, err)
		}
		st.SetDeadline(time.Now().Add(10 * time.Second))
		return st, bufio.NewReader(st)
	}

	st, br := open("no-such-chain")
	st.Write(sessionFrame(0, []byte("hi")))
	typ, body, err := readSessionFrame(br)
	if err != nil || typ != 1 || len(body) != 1 || state.SessionOutcome(body[0]) != state.SessionUnsupported {
		t.Fatalf("an unknown network: frame %d %x, %v; want an abort saying unsupported", typ, body, err)
	}
	st.Close()

	st, br = open("chain-0")
	st.Write(sessionFrame(0, []byte("ping")))
	typ, body, err = readSessionFrame(br)
	if err != nil || typ != 0 || string(body) != "ping" {
		t.Fatalf("echo: frame %d %q, %v", typ, body, err)
	}
	st.CloseWrite()
	if _, _, err := readSessionFrame(br); err != io.EOF {
		t.Fatalf("after our close: %v, want the node's close", err)
	}
	st.Close()

	st, br = open("chain-0")
	st.Write(binary.AppendUvarint(nil, 1<<20)) // far over MaxMessage
	if _, _, err := readSessionFrame(br); err == nil || err == io.EOF {
		t.Fatalf("an oversized frame: %v, want the stream reset", err)
	}
	waitFor(t, 10*time.Second, func() string { return "the sessions to end" }, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ends) >= 2
	})
	var ok, failed uint64
	n.State(ctx, func(s *state.State) { ok, failed = s.Sessions.Networks[0].Succeeded, s.Sessions.Networks[0].Failed })
	if ok < 1 || failed < 1 {
		t.Errorf("%d sessions succeeded and %d failed, want one of each at least", ok, failed)
	}
	if !readyWith(n, state.PeerID(r.h.ID().String())) {
		t.Error("the raw peer was dropped")
	}
	c.closeAndVerify()
}
