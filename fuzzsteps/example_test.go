package fuzzsteps_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/fuzzsteps"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// A harness with an invariant that does not hold (peers do become Ready)
// finds an input that breaks it, writes the action log, and ReplayFile
// reproduces the failure from the log at the same input. In a fuzz test
// the same harness is two lines: h.AddSeeds(f); f.Fuzz(h.Fuzz).
func Example() {
	dir, _ := os.MkdirTemp("", "fuzzsteps")
	defer os.RemoveAll(dir)
	noneReady := fuzzsteps.Invariant{
		Name: "no peer is ever Ready",
		Check: func(s *state.State) error {
			for _, id := range state.SortedKeys(s.Peers) {
				if s.Peers[id].Status == state.StatusReady {
					return fmt.Errorf("peer %s is Ready", id)
				}
			}
			return nil
		},
	}
	h := fuzzsteps.Harness{Invariants: []fuzzsteps.Invariant{noneReady}, LogDir: dir}
	f, err := h.Run("Example", fuzzsteps.Seeds()[4])
	if err != nil || f == nil {
		fmt.Println("no failure:", err)
		return
	}
	fmt.Printf("%s: input #%d (%s): %v\n", f.Invariant, f.Input, f.Kind, f.Err)
	fmt.Println("log:", filepath.Base(f.Log))

	again, err := fuzzsteps.ReplayFile(f.Log, noneReady)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("replayed: %s: input #%d (%s): %v\n", again.Invariant, again.Input, again.Kind, again.Err)
	// Output:
	// no peer is ever Ready: input #4 (MessageReceived): peer p4 is Ready
	// log: Example.log
	// replayed: no peer is ever Ready: input #4 (MessageReceived): peer p4 is Ready
}

// A Harness with the zero Config and Self runs a node of DefaultConfig and
// DefaultSelf; Invariants are checked after State.Check, after every input.
func ExampleHarness() {
	h := fuzzsteps.Harness{Invariants: []fuzzsteps.Invariant{{
		Name: "no more than 3 inbound peers",
		Check: func(s *state.State) error {
			if n := s.Counts().Inbound; n > 3 {
				return errors.New("too many inbound peers")
			}
			return nil
		},
	}}}
	for _, seed := range fuzzsteps.Seeds() {
		if f, err := h.Run("ExampleHarness", seed); f != nil || err != nil {
			fmt.Println(f, err)
			return
		}
	}
	fmt.Println("every seed holds")
	// Output: every seed holds
}

// The Generator alone drives a store from bytes, one input at a time.
func ExampleGenerator() {
	g := fuzzsteps.NewGenerator(fuzzsteps.Seeds()[4])
	st := state.New(fuzzsteps.DefaultConfig(), fuzzsteps.DefaultSelf(), 0, fuzzsteps.Epoch)
	clock := &manualClock{t: fuzzsteps.Epoch}
	s := store.New(st, nil, clock, store.Options{})
	for i := 0; i < 6 && !g.Done(); i++ {
		step, a := g.Next(s.State())
		clock.t += int64(step)
		m, _ := s.Dispatch(a)
		fmt.Printf("#%d +%v %s\n", m.ID, step, action.NamesOf(&st.Config).FormatShort(a))
	}
	// Output:
	// #1 +0s BroadcastMessage Channel=transaction Data=0x3e239272a370378d…(26B)
	// #2 +11s IncomingConnection Peer=p4 Addr=/ip4/10.0.0.1/tcp/4001
	// #3 +0s Disconnected Peer=self Error=gone
	// #4 +0s MessageReceived Peer=p4 Channel=control Data=Hello{Version=2 Network=fuzznet ListenAddrs=[/ip4/10.2.0.2/tcp/4001] UnixTime=1767225611 Nonce=74}
	// #7 +25h0m0s SendMessage Peer=p4 Channel=sync Data=0xc3
	// #8 +0s StreamOpened Peer=p3 Stream=1 Protocol=/p2pcore/direct/2
}

type manualClock struct{ t int64 }

func (c *manualClock) Now() int64 { return c.t }
