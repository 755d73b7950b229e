// Package channel names the channels of the Mina preset for the embedding
// API, so that code reads n.Subscribe(channel.Block). An application with
// channels of its own defines them in node.Config.Channels and finds their
// numbers with Node.Channel.
package channel

import "github.com/p2pcore/p2pcore/state"

// Channel is a message channel.
type Channel = state.Channel

// The Mina preset's channels (state.MinaChannels), numbered in its order
// after control. Block, Transaction and SnarkWork are broadcast over
// GossipSub; Sync is direct, peer to peer.
const (
	Block       Channel = 1
	Transaction Channel = 2
	SnarkWork   Channel = 3
	Sync        Channel = 4
)

// Mina is the Mina preset: the application channels Block, Transaction,
// SnarkWork and Sync, in that order.
func Mina() []state.ChannelConfig { return state.MinaChannels() }
