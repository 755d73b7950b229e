package libp2p_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	golibp2p "github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/internal/wirevectors"
	"github.com/p2pcore/p2pcore/service"
	p2p "github.com/p2pcore/p2pcore/service/libp2p"
	"github.com/p2pcore/p2pcore/state"
)

// protocolDoc is the wire specification whose frame vectors this file
// checks.
const protocolDoc = "../../PROTOCOL.md"

// waitFor bounds every wait of the test.
const waitFor = 10 * time.Second

// vectorChannels are the channels of the frame vectors' sender and
// receiver, as PROTOCOL.md ("Format", under "Test vectors") states them:
// the Mina preset, and fetch, a request channel, as channel 5.
func vectorChannels() []state.ChannelConfig {
	return append(state.DefaultConfig("x").Channels,
		state.ChannelConfig{Name: "fetch", Kind: state.Request, Version: 1, MaxSize: 64 << 10, QueueLimit: 16})
}

// TestProtocolFrameVectors holds PROTOCOL.md's frame vectors to the direct
// protocol of a running service, over go-libp2p on 127.0.0.1, with a bare
// go-libp2p host as the other side: each frame the service sends must be
// exactly the document's bytes, the document's bytes sent to the service
// must arrive as the stated channel and payload (on a request channel: as
// the stated request or response), and each frame the document says is
// refused must be refused (FrameRejected) with the stated reason.
func TestProtocolFrameVectors(t *testing.T) {
	vectors, err := wirevectors.Load(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	chans := vectorChannels()
	var frames, rejects []wirevectors.Vector
	var control, direct, request, response bool
	for _, v := range vectors {
		switch v.Kind {
		case wirevectors.Frame:
			ch := state.Channel(v.Channel)
			if int(ch) >= len(chans) || chans[ch].Kind == state.Broadcast {
				t.Errorf("%s: channel %d is not a direct or request channel of the vectors' channels (the Mina preset and fetch)", v.Where(), v.Channel)
				continue
			}
			if isReq := chans[ch].Kind == state.Request; isReq != (v.Req != nil) {
				t.Errorf("%s: channel %d (%s) is a %s channel: a frame on it %s a \"request:\" or \"response:\" line",
					v.Where(), v.Channel, chans[ch].Name, chans[ch].Kind, map[bool]string{true: "needs", false: "has no"}[isReq])
				continue
			}
			control = control || ch == state.ChannelControl
			direct = direct || (ch != state.ChannelControl && v.Req == nil)
			request = request || (v.Req != nil && !v.Req.Response)
			response = response || (v.Req != nil && v.Req.Response)
			frames = append(frames, v)
		case wirevectors.RejectFrame:
			rejects = append(rejects, v)
		}
	}
	if !control || !direct || !request || !response || len(rejects) == 0 {
		t.Fatalf("%s needs frame vectors on the control channel (has: %v), on a direct channel (has: %v), of a request (has: %v) and a response (has: %v) on a request channel, and of refused frames (has %d)",
			protocolDoc, control, direct, request, response, len(rejects))
	}

	f := newFrameFixture(t)

	// The service writes: each frame on its own, since a priority frame
	// may overtake a bulk one queued before it.
	var out network.Stream
	for _, v := range frames {
		ch := state.Channel(v.Channel)
		switch {
		case v.Req == nil:
			f.svc.Send(f.rawID, ch, ch, v.Payload)
		case v.Req.Response:
			f.svc.Respond(service.Respond{Peer: f.rawID, Channel: ch, Wire: ch, ID: v.Req.ID,
				Status: state.RequestStatus(v.Req.Status), Data: v.Payload})
		default:
			f.svc.Request(service.Request{Peer: f.rawID, Channel: ch, Wire: ch, ID: v.Req.ID, Data: v.Payload})
		}
		if out == nil {
			select {
			case out = <-f.inbound:
			case <-time.After(waitFor):
				t.Fatalf("%s: the service opened no %s stream to send the frame", v.Where(), p2p.DirectProtocol)
			}
		}
		out.SetReadDeadline(time.Now().Add(waitFor))
		got := make([]byte, len(v.Hex))
		if n, err := io.ReadFull(out, got); err != nil {
			t.Fatalf("%s: the service sent %d of the frame's %d bytes (% x): %v", v.Where(), n, len(v.Hex), got[:n], err)
		}
		if !bytes.Equal(got, v.Hex) {
			t.Fatalf("%s: the service frames channel %d and this %spayload differently.\ndocument: %s\nservice:  %s",
				v.Where(), v.Channel, describeHeader(v.Req), wirevectors.Spaced(v.Hex), wirevectors.Spaced(got))
		}
	}

	// The service reads: every frame on one stream, in order.
	st := f.openStream()
	for _, v := range frames {
		if _, err := st.Write(v.Hex); err != nil {
			t.Fatalf("%s: writing the frame: %v", v.Where(), err)
		}
	}
	for _, v := range frames {
		a := f.next(v.Where(), func(a action.Action) bool {
			switch a.(type) {
			case action.MessageReceived, action.RequestReceived, action.ResponseReceived, action.FrameRejected:
				return true
			}
			return false
		})
		if _, bad := a.(action.FrameRejected); bad {
			t.Fatalf("%s: the service refuses the document's bytes: %s", v.Where(), describe(a))
		}
		if want := expected(f.rawID, v); !equalEvents(a, want) {
			t.Fatalf("%s: the service reads %s from the document's bytes; the document says %s", v.Where(), describe(a), describe(want))
		}
	}
	st.Close()

	// Refused frames: each on a stream of its own, which ends after it.
	for _, v := range rejects {
		st := f.openStream()
		if _, err := st.Write(v.Hex); err != nil {
			t.Fatalf("%s: writing the frame: %v", v.Where(), err)
		}
		st.CloseWrite()
		a := f.next(v.Where(), func(a action.Action) bool {
			switch a.(type) {
			case action.FrameRejected, action.MessageReceived, action.RequestReceived, action.ResponseReceived, action.ReadStalled:
				return true
			}
			return false
		})
		r, ok := a.(action.FrameRejected)
		switch {
		case !ok:
			t.Errorf("%s: the service does not refuse these bytes; it reports %s", v.Where(), describe(a))
		case !strings.Contains(r.Reason, v.Error):
			t.Errorf("%s: the service refuses these bytes with %q; the document says %q", v.Where(), r.Reason, v.Error)
		}
		st.Reset()
	}
}

// frameFixture is a service and a bare go-libp2p host connected to it.
type frameFixture struct {
	t       *testing.T
	svc     *p2p.Service
	events  chan action.Action
	raw     host.Host
	rawID   state.PeerID
	inbound chan network.Stream
}

func newFrameFixture(t *testing.T) *frameFixture {
	t.Helper()
	f := &frameFixture{t: t, events: make(chan action.Action, 4096), inbound: make(chan network.Stream, 4)}
	done := make(chan struct{})
	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	rules := state.DefaultConfig("wire-vectors")
	rules.IDs = state.IDsLibp2p
	rules.Channels = vectorChannels()
	svc, err := p2p.New(p2p.Config{
		Network: "wire-vectors", Key: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Rules: rules,
		Sink: func(a action.Action) {
			select {
			case f.events <- a:
			case <-done:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	t.Cleanup(func() {
		close(done)
		svc.Shutdown()
	})
	raw, err := golibp2p.New(golibp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), golibp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	raw.SetStreamHandler(p2p.DirectProtocol, func(s network.Stream) { f.inbound <- s })
	f.raw, f.rawID = raw, state.PeerID(raw.ID().String())
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := raw.Connect(ctx, peer.AddrInfo{ID: svc.Host().ID(), Addrs: svc.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	return f
}

// openStream opens a direct stream from the bare host to the service.
func (f *frameFixture) openStream() network.Stream {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	st, err := f.raw.NewStream(ctx, f.svc.Host().ID(), p2p.DirectProtocol)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// next waits for the service's next event that matches, letting every
// stream the bare host opens be read (the state machine's part, here).
func (f *frameFixture) next(where string, match func(action.Action) bool) action.Action {
	f.t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case a := <-f.events:
			if o, ok := a.(action.StreamOpened); ok {
				f.svc.AcceptStream(o.Peer, o.Stream)
			}
			if match(a) {
				return a
			}
		case <-deadline:
			f.t.Fatalf("%s: no answer from the service within %v", where, waitFor)
			return nil
		}
	}
}

// expected is the event a frame vector stands for when the service reads
// it.
func expected(from state.PeerID, v wirevectors.Vector) action.Action {
	ch := state.Channel(v.Channel)
	switch {
	case v.Req == nil:
		return action.MessageReceived{Peer: from, Channel: ch, Data: v.Payload}
	case v.Req.Response:
		return action.ResponseReceived{Peer: from, Channel: ch, ID: v.Req.ID, Status: state.RequestStatus(v.Req.Status), Data: v.Payload}
	}
	return action.RequestReceived{Peer: from, Channel: ch, ID: v.Req.ID, Data: v.Payload}
}

// equalEvents compares two events of the kinds expected gives, an empty
// payload equal to a nil one.
func equalEvents(got, want action.Action) bool {
	switch w := want.(type) {
	case action.MessageReceived:
		g, ok := got.(action.MessageReceived)
		return ok && g.Peer == w.Peer && g.Channel == w.Channel && bytes.Equal(g.Data, w.Data)
	case action.RequestReceived:
		g, ok := got.(action.RequestReceived)
		return ok && g.Peer == w.Peer && g.Channel == w.Channel && g.ID == w.ID && bytes.Equal(g.Data, w.Data)
	case action.ResponseReceived:
		g, ok := got.(action.ResponseReceived)
		return ok && g.Peer == w.Peer && g.Channel == w.Channel && g.ID == w.ID && g.Status == w.Status && bytes.Equal(g.Data, w.Data)
	}
	return false
}

// describeHeader names a request channel frame's header for a failure
// message ("" for other frames).
func describeHeader(h *wirevectors.ReqHeader) string {
	switch {
	case h == nil:
		return ""
	case h.Response:
		return fmt.Sprintf("response header (ID %d, status %d) and ", h.ID, h.Status)
	}
	return fmt.Sprintf("request header (ID %d) and ", h.ID)
}

// describe prints an event of the service for a failure message.
func describe(a action.Action) string {
	switch a := a.(type) {
	case action.MessageReceived:
		return fmt.Sprintf("a message on channel %d (%s), payload %s", a.Channel, a.Channel, wirevectors.Spaced(a.Data))
	case action.RequestReceived:
		return fmt.Sprintf("request %d on channel %d, payload %s", a.ID, a.Channel, wirevectors.Spaced(a.Data))
	case action.ResponseReceived:
		return fmt.Sprintf("a response to request %d on channel %d, status %d (%s), payload %s", a.ID, a.Channel, a.Status, a.Status, wirevectors.Spaced(a.Data))
	case action.FrameRejected:
		return fmt.Sprintf("a refused frame on channel %d, %d bytes: %q", a.Channel, a.Size, a.Reason)
	case action.ReadStalled:
		return fmt.Sprintf("a stalled frame on channel %d", a.Channel)
	}
	return fmt.Sprintf("%T %+v", a, a)
}
