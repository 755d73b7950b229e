package replay

import (
	"fmt"
	"io"
	"testing"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/channel"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// BenchmarkEncodeBatch measures the writer's background alone: framing,
// digesting and checksumming a batch of MessageReceived inputs, each with
// its Deliver command, as BenchmarkDispatchMessageReceivedRecorded (package
// store) records them; the write goes nowhere.
func BenchmarkEncodeBatch(b *testing.B) {
	st := state.New(state.DefaultConfig("bench"), state.Self{ID: "self"}, 1, 0)
	w, err := NewWriter(io.Discard, NewHeader(st, 1, 0))
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 128)
	batch := new(writeBatch)
	for i := 0; i < batchRecords/2; i++ {
		peer := state.PeerID(fmt.Sprintf("12D3KooWPeer%040d", i%100))
		m := action.Meta{ID: uint64(i + 1), Time: int64(i+1) * 10_000}
		batch.recs = append(batch.recs, pendingRecord{what: RecordInput, m: m, a: action.MessageReceived{Peer: peer, Channel: channel.Sync, Data: data}})
		batch.cmds = append(batch.cmds, &service.Deliver{Peer: peer, Channel: channel.Sync, Data: data})
		batch.recs = append(batch.recs, pendingRecord{what: RecordCommands, lo: int32(i), hi: int32(i + 1)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.enc.prevID, w.enc.prevT = 0, 0
		w.enc.encode(batch)
		w.enc.flush()
	}
	b.ReportMetric(float64(b.N*batchRecords/2)/b.Elapsed().Seconds(), "actions/s")
}
