package node

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/p2pcore/p2pcore/state"
)

// A broken invariant in a running node is logged at error level with the
// action after which it was found and the action log to look at.
func TestViolationIsLoggedAtErrorLevel(t *testing.T) {
	var buf bytes.Buffer
	n := &Node{cfg: Config{Record: "/var/log/node.log"}, log: slog.New(slog.NewTextHandler(&buf, nil))}
	n.violation(4242, &state.Violation{Rule: "ready-without-handshake", Detail: "peer P: ready without a completed handshake"})
	out := buf.String()
	for _, want := range []string{"level=ERROR", "rule=ready-without-handshake", "after_action=4242", "log=/var/log/node.log",
		`"p2pnode replay --check --to 4242 --state /var/log/node.log"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log line does not say %s:\n%s", want, out)
		}
	}
}
