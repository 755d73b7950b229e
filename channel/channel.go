// Package channel names the message channels for the embedding API, so
// that code reads n.Subscribe(channel.Block).
package channel

import "github.com/p2pcore/p2pcore/state"

// Channel is a message channel.
type Channel = state.Channel

// The application's channels. Block, Transaction and SnarkWork are
// broadcast over GossipSub; Sync is direct, peer to peer.
const (
	Block       = state.ChannelBlock
	Transaction = state.ChannelTransaction
	SnarkWork   = state.ChannelSnarkWork
	Sync        = state.ChannelSync
)
