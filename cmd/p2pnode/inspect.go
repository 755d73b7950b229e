package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/p2pcore/p2pcore/inspect"
	"github.com/p2pcore/p2pcore/internal/progress"
)

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "LOG|DIR...", stdout)
	listen := fs.String("listen", "127.0.0.1:8080", "serve the inspector on `ADDR` (a non-loopback address needs --token)")
	token := fs.String("token", "", "require `TOKEN` on every request (?token= or Authorization: Bearer)")
	every := fs.Uint64("snapshot-every", inspect.DefaultSnapshotEvery, "keep a state snapshot every `N` actions: a jump replays at most N")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("want one or more LOG files or directories of logs (a simulation's --record DIR)")
	}
	if *every == 0 {
		return usagef("--snapshot-every must be at least 1")
	}
	if err := inspect.CheckListen(*listen, *token); err != nil {
		return usagef("--listen: %v", err)
	}
	paths, err := logPaths(rest)
	if err != nil {
		return err
	}
	logs, err := loadLogs(paths, *every, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %v", *listen, err)
	}
	srv := &http.Server{Handler: inspect.NewServer(logs, inspect.ServerOptions{Token: *token}).Handler(),
		ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + "/"
	if *token != "" {
		url += "?token=" + *token
	}
	fmt.Fprintf(stdout, "p2pnode inspect: %d log(s), open %s (Ctrl-C to stop)\n", len(logs), url)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// logPaths expands the arguments: a file is a log, a directory holds logs
// (its *.log files, in name order).
func logPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.log"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: a directory with no *.log files", a)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

// loadLogs loads every log with a progress meter on w, and reports any that
// did not verify.
func loadLogs(paths []string, every uint64, w io.Writer) ([]*inspect.Log, error) {
	var total int64
	for _, p := range paths {
		total += fileSize(p)
	}
	meter := progress.New(w, "inspect: loading", float64(total), progress.Bytes)
	var logs []*inspect.Log
	var before int64
	for _, p := range paths {
		l, err := inspect.Load(p, inspect.Options{SnapshotEvery: every, Progress: func(done, _ int64) {
			meter.Update(float64(before + done))
		}})
		if err != nil {
			meter.Done()
			return nil, err
		}
		before += fileSize(p)
		logs = append(logs, l)
	}
	meter.Done()
	for _, l := range logs {
		if l.Problem != nil {
			fmt.Fprintf(w, "p2pnode inspect: %s: %s\n", l.Name, strings.ReplaceAll(l.Problem.Error(), "\n", "; "))
		}
	}
	return logs, nil
}
