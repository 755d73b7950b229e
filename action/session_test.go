package action_test

import (
	"crypto/sha256"
	"reflect"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// TestSessionActionsRoundTrip: every session action survives the log
// codec and its text form; payloads are recorded by digest above the
// threshold and decode as such.
func TestSessionActionsRoundTrip(t *testing.T) {
	samples := []action.Action{
		action.StartSessions{Network: "chain-0", Target: 10, Timeout: 240 * time.Second, BufferMessages: 64, BufferBytes: 1 << 20, MaxMessage: 65536,
			Budget: state.Budget{Msgs: 100, Bytes: 4 << 20, Burst: 5 * time.Second}},
		action.SessionIncoming{Peer: "P", Network: "chain-1", Stream: 9},
		action.SessionReceived{ID: 3, Data: []byte{1, 2}},
		action.SessionReceived{ID: 3, Size: 100, Sum: sha256.Sum256([]byte("x"))},
		action.SessionSend{ID: 4, Data: []byte("cut")},
		action.SessionClose{ID: 5},
		action.SessionPeerClosed{ID: 6},
		action.SessionEnded{ID: 7, Outcome: state.SessionPanic, Error: "session panicked: boom"},
		action.SessionFailed{ID: 8, Outcome: state.SessionOverflow, Error: "receive buffer full"},
		action.SessionStart{ID: 9, Network: 3, Peer: "Q", Timeout: 216 * time.Second, Inbound: true, Stream: 2},
		action.SessionStop{ID: 10, Outcome: state.SessionTimeout},
		action.SessionDone{ID: 11, Outcome: state.SessionClosed},
		action.SessionRefused{Peer: "R", Network: "chain-9", Stream: 4, Outcome: state.SessionUnsupported, Reason: "unknown session network"},
		action.SessionPruned{Peer: "S"},
	}
	for _, a := range samples {
		got, err := action.Unmarshal(a.Kind(), action.Marshal(a))
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("%s: codec round trip gave %#v, %v", a.Kind(), got, err)
		}
		if r, ok := a.(action.SessionReceived); ok && r.Size > 0 {
			continue // the text form does not read digests back (as for every payload)
		}
		text := action.Format(a)
		parsed, err := action.Parse(text)
		if err != nil || !reflect.DeepEqual(parsed, a) {
			t.Errorf("%s: text round trip of %q gave %#v, %v", a.Kind(), text, parsed, err)
		}
	}
	for _, a := range samples {
		if err := action.Recordable(a); err != nil {
			t.Error(err)
		}
	}
	big := action.SessionSend{ID: 1, Data: make([]byte, 100)}
	d, ok := big.Digested(64, sha256.Sum256)
	if !ok || d.(action.SessionSend).Data != nil || d.(action.SessionSend).Len() != 100 {
		t.Fatalf("digested %#v", d)
	}
	if _, err := action.Unmarshal(action.KindSessionEnded, action.Marshal(action.SessionEnded{ID: 1, Outcome: state.MaxSessionOutcome + 1})); err == nil {
		t.Error("an unknown outcome decoded")
	}
	for _, k := range []action.Kind{action.KindStartSessions, action.KindSessionSend, action.KindSessionEnded} {
		if !k.Input() {
			t.Errorf("%s is not an input", k)
		}
	}
	if action.KindSessionStart.Input() {
		t.Error("SessionStart is an input")
	}
}
