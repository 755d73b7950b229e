package libp2p

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// Frames on a request channel carry, before the application's bytes, a
// header: one byte saying request (0) or response (1), the request ID as
// an unsigned varint (the requester's), and in a response one byte of
// status (state.RequestStatus: ok, refused, busy, too large).
const (
	frameRequest  = 0
	frameResponse = 1
	// maxReqHeader is the longest such header.
	maxReqHeader = 1 + binary.MaxVarintLen64 + 1
)

// reqHeader is the header of a frame on a request channel.
type reqHeader struct {
	kind   byte
	id     uint64
	status state.RequestStatus
}

func (h reqHeader) append(b []byte) []byte {
	b = append(b, h.kind)
	b = binary.AppendUvarint(b, h.id)
	if h.kind == frameResponse {
		b = append(b, byte(h.status))
	}
	return b
}

// parseReqHeader splits a request channel's frame into its header and the
// application's bytes.
func parseReqHeader(frame []byte) (reqHeader, []byte, error) {
	if len(frame) == 0 {
		return reqHeader{}, nil, errors.New("empty request frame")
	}
	h := reqHeader{kind: frame[0]}
	if h.kind != frameRequest && h.kind != frameResponse {
		return h, nil, fmt.Errorf("request frame of kind %d", h.kind)
	}
	id, n := binary.Uvarint(frame[1:])
	if n <= 0 || n != len(binary.AppendUvarint(nil, id)) {
		return h, nil, errors.New("malformed request ID")
	}
	h.id, frame = id, frame[1+n:]
	if h.kind == frameResponse {
		if len(frame) == 0 || frame[0] > byte(state.MaxWireStatus) {
			return h, nil, errors.New("missing or unknown response status")
		}
		h.status, frame = state.RequestStatus(frame[0]), frame[1:]
	}
	return h, frame, nil
}

// requestInput is the input action a request channel's frame stands for.
func requestInput(id state.PeerID, ch state.Channel, maxSize int, frame []byte) (action.Action, error) {
	h, data, err := parseReqHeader(frame)
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("a request or response of %d bytes exceeds the channel's limit of %d", len(data), maxSize)
	}
	if h.kind == frameResponse && h.status != state.RequestOK && len(data) > 0 {
		return nil, fmt.Errorf("a %s response carrying %d bytes", h.status, len(data))
	}
	if h.kind == frameRequest {
		return action.RequestReceived{Peer: id, Channel: ch, ID: h.id, Data: data}, nil
	}
	return action.ResponseReceived{Peer: id, Channel: ch, ID: h.id, Status: h.status, Data: data}, nil
}

// Request queues our request for the peer's writer.
func (s *Service) Request(c service.Request) {
	s.sendFrame(c.Peer, frame{ch: c.Channel, wire: c.Wire, data: c.Data,
		req: &reqHeader{kind: frameRequest, id: c.ID}})
}

// Respond queues our answer to a peer's request.
func (s *Service) Respond(c service.Respond) {
	s.sendFrame(c.Peer, frame{ch: c.Channel, wire: c.Wire, data: c.Data,
		req: &reqHeader{kind: frameResponse, id: c.ID, status: c.Status}})
}

// Serve hands a peer's request to the application.
func (s *Service) Serve(c service.Serve) {
	if s.cfg.Serve != nil {
		s.cfg.Serve(c.Peer, c.Channel, c.ID, c.Data)
	}
}

// Complete hands the outcome of our request to whoever made it.
func (s *Service) Complete(c service.Complete) {
	if s.cfg.Complete != nil {
		s.cfg.Complete(c.ID, c.Status, c.Data)
	}
}
