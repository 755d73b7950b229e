package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/p2pcore/p2pcore/state"
)

// StateJSON renders the state, or the subtree at path, as indented JSON.
// A path names fields and map keys separated by "/", e.g. "Peers",
// "Peers/node-003/Ping" or "Counters/Disconnects".
func StateJSON(st *state.State, path string) ([]byte, error) {
	raw, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var node any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep 64-bit nonces and times exact
	if err := dec.Decode(&node); err != nil {
		return nil, err
	}
	var walked []string
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if seg == "" {
			continue
		}
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("state path %q: %s is not an object", path, strings.Join(walked, "/"))
		}
		next, ok := m[seg]
		if !ok {
			keys := make([]string, 0, len(m))
			for _, k := range state.SortedKeys(m) {
				keys = append(keys, k)
			}
			return nil, fmt.Errorf("state path %q: no %q under /%s (have: %s)", path, seg, strings.Join(walked, "/"), strings.Join(keys, ", "))
		}
		node = next
		walked = append(walked, seg)
	}
	return json.MarshalIndent(node, "", "  ")
}

// Diff describes how after differs from before, in go-cmp's notation
// ("-" before, "+" after). Nil and empty collections count as equal.
func Diff(before, after *state.State) string {
	return cmp.Diff(before, after, cmpopts.EquateEmpty())
}
