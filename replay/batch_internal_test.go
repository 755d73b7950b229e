package replay

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Every command deferCommand lets wait holds only values and a payload, by
// the rule deferInput follows; those that hold lists do not wait.
func TestDeferredCommandsHoldOnlyValues(t *testing.T) {
	waits := []service.Command{
		&service.Deliver{}, service.Send{}, service.Publish{}, service.Validate{},
		service.Request{}, service.Respond{}, service.Serve{}, service.Complete{},
		service.SessionWrite{}, service.SessionDeliver{},
		service.Close{}, service.Verdict{}, service.DeliverHeld{}, service.Throttle{}, service.Unthrottle{},
		service.AcceptStream{}, service.ResetStream{}, service.OpenSession{}, service.EndSession{},
	}
	for _, c := range waits {
		if _, ok := deferCommand(c); !ok {
			t.Errorf("%T is digested at once; the list here says it waits", c)
		}
		typ := reflect.TypeOf(c)
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem() // the writer waits with a copy
		}
		if !holdsOnlyValues(typ, "") {
			t.Errorf("%T holds more than values and a payload, yet its digest waits", c)
		}
	}
	for _, c := range []service.Command{service.Dial{}, service.SavePeerStore{}, service.Provide{}, service.FindProviders{}, service.FoundPeers{}, service.HTTPGrant{}} {
		if _, ok := deferCommand(c); ok && !holdsOnlyValues(reflect.TypeOf(c), "") {
			t.Errorf("%T waits, but holds a list", c)
		}
	}
	for _, c := range []service.Command{service.Dial{}, service.SavePeerStore{}} {
		if _, ok := deferCommand(c); ok {
			t.Errorf("%T waits, but holds a list", c)
		}
	}
	if !deferInput[action.KindMessageReceived] || !deferInput[action.KindGossipReceived] {
		t.Error("the common inputs with payloads are encoded at once")
	}
	if deferInput[action.KindConnect] || deferInput[action.KindPeersDiscovered] {
		t.Error("inputs with address lists wait for the background")
	}
}

// recordedLog is the log a writer makes of what write gives it, ended
// after action last.
func recordedLog(t *testing.T, last uint64, write func(w *Writer)) []byte {
	t.Helper()
	st := state.New(state.DefaultConfig("t"), state.Self{ID: "self"}, 1, 0)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, NewHeader(st, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	write(w)
	if err := w.End(last, st.Hash(), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// An input or command that holds a list is recorded as it was when given:
// changing the list afterwards, as a reducer may change one it shares with
// the state, does not change the log.
func TestListsAreRecordedAsGiven(t *testing.T) {
	log := func(mutate bool) []byte {
		return recordedLog(t, 1, func(w *Writer) {
			addrs := []state.Addr{"/ip4/10.0.0.2/tcp/4001", "/ip4/10.0.0.3/tcp/4001"}
			a := action.Connect{Peer: "p", Addrs: addrs}
			w.Input(action.Meta{ID: 1, Time: 1}, a)
			w.Commands(action.Meta{ID: 1, Time: 1}, a, []service.Command{service.Dial{Peer: "p", Addrs: addrs}})
			if mutate {
				addrs[0], addrs[1] = "/ip4/10.9.9.9/tcp/1", "/ip4/10.9.9.8/tcp/1"
			}
		})
	}
	if want, got := log(false), log(true); !bytes.Equal(got, want) {
		t.Fatal("changing an address list after it was recorded changed the log")
	}
}

// A deliver command is recorded as it was when given, though the store
// fills the same memory with the next input's deliver right after.
func TestDeliverIsRecordedAsGiven(t *testing.T) {
	log := func(reuse bool) []byte {
		return recordedLog(t, 3, func(w *Writer) {
			d := new(service.Deliver)
			for id := uint64(1); id <= 3; id++ {
				a := action.MessageReceived{Peer: "p", Channel: 2, Data: []byte("first")}
				*d = service.Deliver{Peer: a.Peer, Channel: a.Channel, Data: a.Data}
				w.Input(action.Meta{ID: id, Time: int64(id)}, a)
				w.Commands(action.Meta{ID: id, Time: int64(id)}, a, []service.Command{d})
				if reuse {
					*d = service.Deliver{Peer: "q", Channel: 3, Data: []byte("other")}
				}
			}
		})
	}
	if want, got := log(false), log(true); !bytes.Equal(got, want) {
		t.Fatal("refilling a deliver command after it was recorded changed the log")
	}
}
