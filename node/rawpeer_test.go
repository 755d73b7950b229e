package node_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	golibp2p "github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/p2pcore/p2pcore/message"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// rawPeer is a bare go-libp2p host that speaks the direct protocol by
// hand, so a test can send a node whatever bytes it likes: a hostile or
// broken peer.
type rawPeer struct {
	t      *testing.T
	h      host.Host
	target peer.ID
	out    network.Stream

	mu   sync.Mutex
	msgs []message.Message
	bad  []error

	// stalled makes the peer stop reading what the node sends it, as a
	// peer that hangs or wants to tie the node's writer up would.
	stalled atomic.Bool
}

func newRawPeer(t *testing.T) *rawPeer {
	t.Helper()
	h, err := golibp2p.New(golibp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), golibp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	r := &rawPeer{t: t, h: h}
	h.SetStreamHandler(p2p.DirectProtocol, r.read)
	t.Cleanup(func() { h.Close() })
	return r
}

// read collects the control messages the node sends us.
func (r *rawPeer) read(s network.Stream) {
	br := bufio.NewReader(s)
	for {
		if r.stalled.Load() {
			<-r.t.Context().Done()
			s.Reset()
			return
		}
		ch, err := br.ReadByte()
		if err != nil {
			return
		}
		n, err := binary.ReadUvarint(br)
		if err != nil || n > 1<<20 {
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		if state.Channel(ch) != state.ChannelControl {
			continue
		}
		m, err := message.Decode(buf)
		r.mu.Lock()
		if err != nil {
			r.bad = append(r.bad, err)
		} else {
			r.msgs = append(r.msgs, m)
		}
		r.mu.Unlock()
	}
}

// connect dials the node and opens our stream to it.
func (r *rawPeer) connect(n *testNode) {
	r.t.Helper()
	m, err := ma.NewMultiaddr(n.Addrs()[0])
	if err != nil {
		r.t.Fatal(err)
	}
	info, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.h.Connect(ctx, *info); err != nil {
		r.t.Fatal(err)
	}
	r.target = info.ID
	if r.out, err = r.h.NewStream(ctx, info.ID, p2p.DirectProtocol); err != nil {
		r.t.Fatal(err)
	}
}

// frame writes raw frame bytes: channel, LEB128 length, payload.
func (r *rawPeer) frame(ch byte, length uint64, payload []byte) {
	buf := append([]byte{ch}, binary.AppendUvarint(nil, length)...)
	buf = append(buf, payload...)
	r.out.Write(buf) // the node may already have reset the stream
}

func (r *rawPeer) send(m message.Message) {
	b := message.Marshal(m)
	r.frame(byte(state.ChannelControl), uint64(len(b)), b)
}

func (r *rawPeer) hello(network string, unix int64) {
	cfg := state.DefaultConfig(network)
	r.send(message.Hello{Version: state.ProtocolVersion, Network: network, Software: "rawpeer/1",
		UnixTime: unix, Nonce: uint64(time.Now().UnixNano()), Channels: message.ChannelInfos(&cfg)})
}

// waitMsg waits for the first message from the node that matches.
func (r *rawPeer) waitMsg(what string, match func(message.Message) bool) message.Message {
	r.t.Helper()
	var found message.Message
	waitFor(r.t, 15*time.Second, func() string { return what + " from the node; got " + r.describe() }, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, m := range r.msgs {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

func (r *rawPeer) describe() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := ""
	for _, m := range r.msgs {
		s += " " + m.Type().String()
	}
	return "[" + s + " ]"
}

// waitDisconnect waits until the node has closed every connection to us.
func (r *rawPeer) waitDisconnect(why string) {
	r.t.Helper()
	waitFor(r.t, 15*time.Second, func() string { return "the node to drop the peer that sent " + why }, func() bool {
		return r.h.Network().Connectedness(r.target) != network.Connected
	})
}

// disconnectReason waits for the node's Disconnect message.
func (r *rawPeer) disconnectReason() state.Reason {
	r.t.Helper()
	m := r.waitMsg("a Disconnect", func(m message.Message) bool { _, ok := m.(message.Disconnect); return ok })
	return m.(message.Disconnect).Reason
}
