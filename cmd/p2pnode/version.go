package main

import (
	"fmt"
	"io"

	"github.com/p2pcore/p2pcore/replay"
)

func runVersion(args []string, stdout, _ io.Writer) error {
	fs := newFlags("version", "", stdout)
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	fmt.Fprintf(stdout, "%s (log format %d)\n", replay.BuildVersion(), replay.FormatVersion)
	return nil
}
