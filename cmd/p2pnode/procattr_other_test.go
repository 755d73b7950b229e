//go:build !linux

package main

import "os/exec"

// dieWithTest does nothing here: only Linux can tie a child's life to its
// parent's; the test's cleanup still kills it.
func dieWithTest(*exec.Cmd) {}
