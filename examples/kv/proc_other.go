//go:build !linux

package main

import "syscall"

// childProcAttr returns nil: outside Linux, nodes started by procCluster
// are stopped by procCluster.close only.
func childProcAttr() *syscall.SysProcAttr { return nil }
