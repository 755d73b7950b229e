// Command p2pnode runs, simulates and replays p2pcore nodes.
//
//	p2pnode run      start a node (see p2pnode run -h)
//	p2pnode replay   verify, trace, step through and diff an action log
//	p2pnode sim      run a seeded multi-node simulation
//	p2pnode inspect  browse action logs in a local web page
//	p2pnode keygen   create a node identity key
//	p2pnode demo     start a local network on 127.0.0.1, check it, replay it
//	p2pnode version  print the version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errQuiet is a failure already reported in full on the output.
var errQuiet = errors.New("failed")

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "start a node", runNode},
		{"replay", "verify, trace, step through and diff an action log", runReplay},
		{"sim", "run a seeded multi-node simulation", runSim},
		{"inspect", "browse action logs in a local web page: timeline, state, diffs, charts", runInspect},
		{"keygen", "create a node identity key", runKeygen},
		{"demo", "start a local network on 127.0.0.1, check it, replay every log (\"demo sessions\": Chainweb sessions)", runDemo},
		{"version", "print the version", runVersion},
	}
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs a command and turns its error into one line on stderr and
// an exit status: 0 success, 1 failure, 2 usage.
func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ue *usageError
		switch {
		case err == nil || errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errQuiet):
			return 1
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "p2pnode %s: %v (see 'p2pnode %s -h')\n", c.name, err, c.name)
			return 2
		default:
			fmt.Fprintf(stderr, "p2pnode %s: %v\n", c.name, oneLine(err))
			return 1
		}
	}
	fmt.Fprintf(stderr, "p2pnode: unknown command %q (see 'p2pnode -h')\n", args[0])
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "p2pnode — the p2pcore node, simulator and replay debugger")
	fmt.Fprintln(w, "\nUsage: p2pnode <command> [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'p2pnode <command> -h' for a command's flags.")
}

// oneLine folds a multi-line error (errors.Join) into one line.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// newFlags returns a flag set that reports errors instead of exiting and
// prints its usage to w on -h.
func newFlags(name, args string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: %s\n\nFlags:\n", strings.TrimSpace("p2pnode "+name+" [flags] "+args))
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses flags that may come before or after the positional
// arguments, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	// The flag package prints the whole usage on any mistake; we want one
	// line for a mistake and the usage only when asked with -h.
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
