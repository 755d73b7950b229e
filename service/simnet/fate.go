package simnet

// DropCause says why a copy of a broadcast never arrived.
type DropCause uint8

// Causes of a lost copy.
const (
	// DropLoss: the network's loss rate drew it.
	DropLoss DropCause = iota
	// DropPartition: it could not cross a partition.
	DropPartition
	// DropCrash: it reached a crashed or frozen node.
	DropCrash
	// DropClosed: its connection closed while it travelled.
	DropClosed
	numDropCauses
)

// String names the cause as reports show it.
func (c DropCause) String() string {
	switch c {
	case DropLoss:
		return "loss"
	case DropPartition:
		return "partition"
	case DropCrash:
		return "crash"
	case DropClosed:
		return "closed"
	}
	return "unknown"
}

// Fate is what became of the copies of one broadcast: how many are still
// travelling, and how many were lost, by cause. Only broadcasts the
// simulation asked to Track have one.
type Fate struct {
	InFlight int
	Drops    [numDropCauses]uint32
}

// Dropped reports whether any copy was lost to cause c.
func (f *Fate) Dropped(c DropCause) bool { return f != nil && f.Drops[c] > 0 }

// TrackNext makes the network follow the copies of the next broadcast
// published (until TrackNext(false)); Fate(LastMsg()) then tells what
// became of them.
func (n *Network) TrackNext(on bool) { n.trackNext = on }

// Fate returns what became of a tracked broadcast, nil if untracked.
func (n *Network) Fate(id uint64) *Fate { return n.fates[id] }

// LastMsg is the ID of the latest broadcast published on the network.
func (n *Network) LastMsg() uint64 { return n.msgSeq }

// Gossip returns the network's GossipSub traffic counts.
func (n *Network) Gossip() GossipStats { return n.gstats }

func (f *Fate) drop(c DropCause) {
	if f != nil {
		f.Drops[c]++
	}
}
