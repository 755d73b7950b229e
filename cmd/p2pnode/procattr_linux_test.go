package main

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes a p2pnode the test starts die with the test process,
// even when the test binary is killed before its cleanups run (a timeout,
// an interrupt): a node left listening would outlive the test.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
