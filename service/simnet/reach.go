package simnet

import "github.com/p2pcore/p2pcore/state"

// Reach sets in reach (a bit per node, by index) the nodes a broadcast
// on ch published now by node from would reach if nothing changed while
// it travels: the publisher's peers (flood publishing), and from each
// node reached, the peers of its mesh for ch (all its peers when the
// network floods). Links that are not up, that cross a partition, or
// that lead to a node down or silent are not followed. A node in a mesh
// that no such path joins to the publisher's is in another part of the
// channel's broadcast network: a network still coming together, such as
// newcomers grafted only to other newcomers. The simulator's report
// counts such a receiver apart rather than unexplained.
//
// The simulator asks for every broadcast it counts, and a walk of the
// whole mesh for each was a twentieth of a 1,000-node run. Between
// changes of the meshes, links, partitions or quiet nodes, the answer
// for a publisher whose peers all lie in one strongly connected part of
// the mesh that no mesh link leaves is that part, and the publisher: so
// once two broadcasts have been asked about with nothing changed between
// them, Reach finds such a part (the mesh's giant component, once the
// network has come together) and answers from it while nothing changes.
func (n *Network) Reach(from int, ch state.Channel, reach []uint64) {
	r := &n.reach
	if n.gossip.Flood || n.quiet[from] || int(ch) >= len(r.memo) {
		n.walkReach(from, ch, reach)
		return
	}
	m := &r.memo[ch]
	if m.topo != n.topo {
		*m = reachMemo{topo: n.topo, set: m.set[:0]}
	}
	m.calls++
	if m.calls == 2 {
		m.ok = n.closedPart(from, ch, m)
	}
	if !m.ok || !n.seedsIn(from, m.set) {
		n.walkReach(from, ch, reach)
		return
	}
	r.answered++
	for i, w := range m.set {
		reach[i] |= w
	}
	reach[from/64] |= 1 << (from % 64)
	if r.verify {
		check := make([]uint64, len(reach))
		n.walkReach(from, ch, check)
		for i := range check {
			if check[i] != reach[i] {
				r.mismatches++
				copy(reach, check)
				break
			}
		}
	}
}

// reachState is what Reach keeps between calls: its work lists, a memo
// per channel, and the check tests turn on (VerifyReach).
type reachState struct {
	stack  []int32
	rev    [][]int32
	memo   [state.MaxChannels]reachMemo
	verify bool
	// answered counts the answers given from a memo, and mismatches
	// those a walk contradicted (with verify on).
	answered, mismatches int
}

// reachMemo is a strongly connected part of one channel's mesh that no
// mesh link leaves, found at topology version topo.
type reachMemo struct {
	topo  uint64
	calls int
	ok    bool
	set   []uint64
}

// VerifyReach makes every answer Reach gives from its memo also be
// computed by a walk of the mesh, the walk's answer returned, and any
// difference counted (ReachChecks): for tests.
func (n *Network) VerifyReach(on bool) { n.reach.verify = on }

// ReachChecks reports how many of Reach's answers came from its memo,
// and how many of those a walk contradicted (with VerifyReach on).
func (n *Network) ReachChecks() (answered, mismatches int) {
	return n.reach.answered, n.reach.mismatches
}

// changed notes a change to what Reach follows: a mesh, a node's peer
// list or the state of one of its entries, a partition or cut, a node
// going quiet or coming back.
func (n *Network) changed() { n.topo++ }

// follows reports whether a broadcast sent by node i over entry to
// arrives, by Reach's rules (the node it leads to is not quiet).
func (n *Network) follows(ep *Endpoint, to *peerLink) bool {
	return to.up && !n.quiet[to.node] && n.reachable(ep, to.ep)
}

// meshOf is the list of entries node i relays a broadcast on ch over
// when it is not the publisher: its mesh for ch, or nil.
func (n *Network) meshOf(i int32, ch state.Channel) []peerLink {
	if t := n.nodes[i].g.topics[ch]; t != nil {
		return t.mesh
	}
	return nil
}

// walkReach computes Reach by walking from the publisher.
func (n *Network) walkReach(from int, ch state.Channel, reach []uint64) {
	set := func(i int32) bool {
		if n.quiet[i] || reach[i/64]&(1<<(i%64)) != 0 {
			return false
		}
		reach[i/64] |= 1 << (i % 64)
		return true
	}
	reach[from/64] |= 1 << (from % 64)
	stack := append(n.reach.stack[:0], int32(from))
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ep := n.nodes[i]
		peers := ep.peers
		if int(i) != from && !n.gossip.Flood {
			peers = n.meshOf(i, ch)
		}
		for k := range peers {
			if to := &peers[k]; n.follows(ep, to) && set(to.node) {
				stack = append(stack, to.node)
			}
		}
	}
	n.reach.stack = stack
}

// seedsIn reports whether every peer the publisher's broadcast would
// reach directly is in set, and there is at least one.
func (n *Network) seedsIn(from int, set []uint64) bool {
	ep := n.nodes[from]
	found := false
	for k := range ep.peers {
		if to := &ep.peers[k]; n.follows(ep, to) {
			if set[to.node/64]&(1<<(to.node%64)) == 0 {
				return false
			}
			found = true
		}
	}
	return found
}

// closedPart fills m.set with the nodes the mesh for ch leads to from the
// first peer the publisher reaches directly, and reports whether every
// one of them leads back to it: then the set is strongly connected and
// no mesh link leaves it, and from any node in it the mesh leads to
// exactly it.
func (n *Network) closedPart(from int, ch state.Channel, m *reachMemo) bool {
	ep := n.nodes[from]
	start := int32(-1)
	for k := range ep.peers {
		if to := &ep.peers[k]; n.follows(ep, to) {
			start = to.node
			break
		}
	}
	if start < 0 {
		return false
	}
	words := (len(n.nodes) + 63) / 64
	m.set = append(m.set[:0], make([]uint64, words)...)
	in := func(s []uint64, i int32) bool { return s[i/64]&(1<<(i%64)) != 0 }
	// Forward: the mesh's closure from start, noting each link backwards.
	r := &n.reach
	if len(r.rev) < len(n.nodes) {
		r.rev = make([][]int32, len(n.nodes))
	}
	var members []int32
	m.set[start/64] |= 1 << (start % 64)
	stack := append(r.stack[:0], start)
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		members = append(members, i)
		r.rev[i] = r.rev[i][:0]
		mesh := n.meshOf(i, ch)
		for k := range mesh {
			to := &mesh[k]
			if !n.follows(n.nodes[i], to) {
				continue
			}
			if !in(m.set, to.node) {
				m.set[to.node/64] |= 1 << (to.node % 64)
				r.rev[to.node] = r.rev[to.node][:0]
				stack = append(stack, to.node)
			}
		}
	}
	for _, i := range members {
		mesh := n.meshOf(i, ch)
		for k := range mesh {
			if to := &mesh[k]; n.follows(n.nodes[i], to) {
				r.rev[to.node] = append(r.rev[to.node], i)
			}
		}
	}
	// Backward: every member must lead to start.
	back := make([]uint64, words)
	back[start/64] |= 1 << (start % 64)
	seen := 1
	stack = append(stack[:0], start)
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range r.rev[i] {
			if !in(back, j) {
				back[j/64] |= 1 << (j % 64)
				seen++
				stack = append(stack, j)
			}
		}
	}
	r.stack = stack
	return seen == len(members)
}
