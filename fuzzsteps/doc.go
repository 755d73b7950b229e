// Package fuzzsteps is a step-through fuzz harness for the p2pcore state
// machine: bytes become a sequence of input actions (a protocol-aware
// Generator), each is dispatched to a store over the pure core, and after
// every input the built-in invariants (State.Check) and the caller's own
// are checked. The run must also be deterministic and its recorded action
// log must replay and verify.
//
// A fuzz test with an invariant of one's own is a few lines:
//
//	func FuzzNoReadyWithoutHandshake(f *testing.F) {
//		h := fuzzsteps.Harness{Invariants: []fuzzsteps.Invariant{{
//			Name: "no peer is Ready without a completed handshake",
//			Check: func(s *state.State) error {
//				for id, p := range s.Peers {
//					if p.Status == state.StatusReady && !p.Handshake.Done {
//						return fmt.Errorf("peer %s is Ready, its handshake is not done", id)
//					}
//				}
//				return nil
//			},
//		}}}
//		h.AddSeeds(f)
//		f.Fuzz(h.Fuzz)
//	}
//
// Plain `go test` runs the seeds and the corpus under
// testdata/fuzz/FuzzNoReadyWithoutHandshake; `go test -fuzz
// FuzzNoReadyWithoutHandshake` searches for more.
//
// # When it fails
//
// The harness stops at the first input after which something fails,
// writes the action log of the sequence up to and including that input
// (ended with its end record, so it verifies) and fails the test with a
// message like this one:
//
//	fuzzsteps: invariant "no peer ever has a ping outstanding" failed at input #5 (Tick): peer p0 has a ping outstanding
//	input #5: Tick
//	action log: /…/testdata/fuzzsteps/FuzzX_b4a83696105a529a.log (ends after input #5 and all it caused; it replays and verifies)
//	reproduce:
//	  go test -run='^FuzzX$/^b4a83696105a529a$'    # rerun this corpus entry (in its package directory)
//	  p2pnode replay --trace --to 7 /…/FuzzX_b4a83696105a529a.log    # every action up to the failure
//	  p2pnode replay --to 5 --diff 5 /…/FuzzX_b4a83696105a529a.log    # what input #5 itself did
//	  p2pnode replay --to 7 --state /…/FuzzX_b4a83696105a529a.log    # the state it left
//	  fuzzsteps.ReplayFile("/…/FuzzX_b4a83696105a529a.log", <invariant "no peer ever has a ping outstanding">)    # the same failure, from Go
//	what input #5 and the 2 actions it caused changed (-before +after):
//	  …
//	  			Ping: state.Ping{
//	- 				Outstanding: false,
//	+ 				Outstanding: true,
//	  …
//
// A failure of State.Check also suggests `p2pnode replay --check LOG`; a
// determinism or replay failure, `p2pnode replay LOG`, which names the
// first action that differs; a panic, `p2pnode replay --trace LOG`, and
// the message ends with the panic's stack.
//
// The log is written to testdata/fuzzsteps under the test's package
// directory (next to Go's testdata/fuzz), or to $P2PCORE_FUZZSTEPS_DIR, or
// to Harness.LogDir (which wins over both). Its name is the test's name
// with '/' and other unusual characters replaced by '_', so each corpus
// entry has its own file and rerunning it rewrites it. Keep the directory
// out of version control; the corpus entry is what to commit.
//
// To reproduce a failure found by `go test -fuzz`:
//
//  1. Go saves the minimised input as testdata/fuzz/FuzzX/<id> and prints
//     `go test -run=FuzzX/<id>`. Run it: the harness fails the same way
//     and writes that input's own log, testdata/fuzzsteps/FuzzX_<id>.log,
//     with the commands for it. (While fuzzing, each failing attempt —
//     minimisation tries many — rewrites testdata/fuzzsteps/FuzzX.log, so
//     it ends up with the last, minimised, input's log; the corpus entry's
//     own log is the one to keep using.)
//  2. Run the printed p2pnode replay commands: --trace --to N lists every
//     action up to the failure, --to N --diff N shows what the failing
//     input did, --state the state it left, and for State.Check, --check
//     reports the violation. p2pnode is the repository's CLI: go install
//     github.com/p2pcore/p2pcore/cmd/p2pnode, or go run ./cmd/p2pnode
//     from the module root.
//  3. Or, from Go (a regression test, a debugger session), call
//     ReplayFile(path, inv): it replays the log, checks the invariants
//     after every input and returns the same failure at the same input.
//
// The Generator is also usable alone, to drive a store from bytes in
// tests and benchmarks of one's own.
package fuzzsteps
