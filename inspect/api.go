package inspect

// The JSON API the page reads: one handler per endpoint.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
)

// LogInfo describes a loaded log.
type LogInfo struct {
	Index      int                     `json:"index"`
	Name       string                  `json:"name"`
	Path       string                  `json:"path"`
	Self       string                  `json:"self"`
	Network    string                  `json:"network"`
	Build      string                  `json:"build"`
	Actions    uint64                  `json:"actions"`
	Start      int64                   `json:"start"`
	End        int64                   `json:"end"`
	Verified   bool                    `json:"verified"`
	Problem    string                  `json:"problem,omitempty"`
	Divergence *replay.DivergenceError `json:"divergence,omitempty"`
	Snapshots  int                     `json:"snapshots"`
	Live       bool                    `json:"live"`
	Timings    bool                    `json:"timings"`
}

func (s *Server) logsInfo(r *http.Request) (any, error) {
	logs, err := s.current()
	if err != nil {
		return nil, err
	}
	out := make([]LogInfo, len(logs))
	for i, l := range logs {
		out[i] = LogInfo{Index: i, Name: l.Name, Path: l.Path, Self: string(l.Self()), Network: l.Header.Config.Network,
			Build: l.Header.Build, Actions: l.Len(), Start: l.Header.StartTime, Verified: l.Verified,
			Divergence: l.Divergence, Snapshots: len(l.snaps), Live: s.opts.Reload != nil, Timings: s.opts.Timings != nil}
		if n := l.Len(); n > 0 {
			out[i].End = l.times[n-1]
		}
		if l.Problem != nil {
			out[i].Problem = l.Problem.Error()
		}
	}
	return out, nil
}

func (s *Server) reload(r *http.Request) (any, error) {
	if s.opts.Reload == nil {
		return nil, badRequest{errors.New("these logs are not live")}
	}
	logs, err := s.opts.Reload()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.logs, s.selections = logs, map[string][]uint64{}
	s.mu.Unlock()
	return s.logsInfo(r)
}

func filterOf(r *http.Request) Filter {
	q := r.URL.Query()
	f := Filter{Peer: q.Get("peer"), Type: q.Get("type"), Text: q.Get("q")}
	for _, k := range strings.Split(q.Get("kind"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			f.Kinds = append(f.Kinds, k)
		}
	}
	return f
}

// selection is the IDs a filter keeps (nil: every action), cached.
func (s *Server) selection(l *Log, li int, f Filter) ([]uint64, error) {
	if f.Empty() {
		return nil, nil
	}
	key := strconv.Itoa(li) + "\x00" + f.key()
	s.mu.Lock()
	ids, ok := s.selections[key]
	s.mu.Unlock()
	if ok {
		return ids, nil
	}
	ids, err := l.Select(f)
	if err != nil {
		return nil, badRequest{err}
	}
	s.mu.Lock()
	if len(s.selections) >= 16 {
		clear(s.selections)
	}
	s.selections[key] = ids
	s.mu.Unlock()
	return ids, nil
}

// Page is a page of the timeline.
type Page struct {
	Total uint64 `json:"total"`
	From  uint64 `json:"from"`
	Rows  []Row  `json:"rows"`
}

func (s *Server) actions(r *http.Request) (any, error) {
	l, li, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	from, err := uintParam(r, "from", 0)
	if err != nil {
		return nil, err
	}
	n, err := uintParam(r, "n", 100)
	if err != nil {
		return nil, err
	}
	n = min(n, maxPage)
	ids, err := s.selection(l, li, filterOf(r))
	if err != nil {
		return nil, err
	}
	f := filterOf(r)
	total := l.Len()
	if !f.Empty() {
		total = uint64(len(ids))
	}
	p := Page{Total: total, From: from, Rows: []Row{}}
	for i := from; i < total && i < from+n; i++ {
		id := i + 1
		if !f.Empty() {
			id = ids[i]
		}
		p.Rows = append(p.Rows, l.Row(id))
	}
	return p, nil
}

// find is the row of the timeline at which action id (or the first kept
// action after it) stands.
func (s *Server) find(r *http.Request) (any, error) {
	l, li, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	id, err := uintParam(r, "id", 1)
	if err != nil {
		return nil, err
	}
	f := filterOf(r)
	ids, err := s.selection(l, li, f)
	if err != nil {
		return nil, err
	}
	if f.Empty() {
		return map[string]uint64{"row": min(max(id, 1), max(l.Len(), 1)) - 1}, nil
	}
	lo, hi := 0, len(ids)
	for lo < hi {
		m := (lo + hi) / 2
		if ids[m] < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return map[string]int{"row": min(lo, max(len(ids)-1, 0))}, nil
}

// Detail is one action in full.
type Detail struct {
	Row
	Full     string   `json:"full"`
	ParentOf *Row     `json:"parent_row,omitempty"`
	Children []Row    `json:"children"`
	Cmds     []string `json:"cmds"`
	Diff     string   `json:"diff"`
	Replayed uint64   `json:"replayed"`
	Millis   float64  `json:"ms"`
	// Group is the input that led to the action and everything it
	// caused, each with its parent and commands: the page draws it as a
	// tree.
	Group []GroupRow `json:"group"`
}

// GroupRow is one action of an input's group.
type GroupRow struct {
	ID      uint64   `json:"id"`
	Parent  uint64   `json:"parent"`
	Kind    string   `json:"kind"`
	Text    string   `json:"text"`
	Dropped bool     `json:"dropped,omitempty"`
	Cmds    []string `json:"cmds,omitempty"`
}

func (s *Server) action(r *http.Request) (any, error) {
	l, _, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	id, err := uintParam(r, "id", 0)
	if err != nil {
		return nil, err
	}
	if id == 0 || id > l.Len() {
		return nil, badRequest{fmt.Errorf("no action #%d in %s (it has #1 to #%d)", id, l.Name, l.Len())}
	}
	start := time.Now()
	p, err := l.At(id)
	if err != nil {
		return nil, err
	}
	d := Detail{Row: l.Row(id), Full: l.names.Format(p.Action), Children: []Row{}, Cmds: []string{},
		Diff: replay.Diff(p.Before, p.After), Replayed: p.Replayed}
	if par := l.parents[id-1]; par != 0 {
		row := l.Row(par)
		d.ParentOf = &row
	}
	for _, c := range l.Children(id) {
		d.Children = append(d.Children, l.Row(c))
	}
	for _, c := range p.Commands {
		d.Cmds = append(d.Cmds, service.FormatCommandNamed(c, l.names))
	}
	d.Group = []GroupRow{}
	for _, g := range p.Group {
		row := GroupRow{ID: g.Meta.ID, Parent: g.Meta.Parent, Kind: g.Action.Kind().String(), Text: l.Text(g.Meta.ID), Dropped: g.Dropped}
		for _, c := range g.Commands {
			row.Cmds = append(row.Cmds, service.FormatCommandNamed(c, l.names))
		}
		d.Group = append(d.Group, row)
	}
	d.Millis = float64(time.Since(start).Microseconds()) / 1000
	return d, nil
}

func (s *Server) stateJSON(w http.ResponseWriter, r *http.Request) {
	l, _, _, err := s.log(r)
	var b []byte
	if err == nil {
		var id uint64
		if id, err = uintParam(r, "id", 0); err == nil {
			if id > l.Len() {
				err = badRequest{fmt.Errorf("no action #%d in %s", id, l.Name)}
			} else {
				st, serr := l.StateAt(id)
				if err = serr; err == nil {
					b, err = replay.StateJSON(st, r.URL.Query().Get("path"))
					if err != nil {
						err = badRequest{err}
					}
				}
			}
		}
	}
	if err != nil {
		code := http.StatusInternalServerError
		var br badRequest
		if errors.As(err, &br) {
			code = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Server) stats(r *http.Request) (any, error) {
	l, _, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"kinds": l.Stats()}
	if s.opts.Timings != nil {
		out["timings"] = s.opts.Timings()
	}
	return out, nil
}

func (s *Server) series(r *http.Request) (any, error) {
	l, _, _, err := s.log(r)
	if err != nil {
		return nil, err
	}
	return l.Series(), nil
}

func (s *Server) follow(r *http.Request) (any, error) {
	_, li, logs, err := s.log(r)
	if err != nil {
		return nil, err
	}
	id, err := uintParam(r, "id", 0)
	if err != nil {
		return nil, err
	}
	b, err := Follow(logs, li, id)
	if err != nil {
		return nil, badRequest{err}
	}
	return b, nil
}
