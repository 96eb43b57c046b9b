package main

import "syscall"

// childProcAttr makes a node started by procCluster die with the process
// that started it, so that a test or tour killed midway leaves no node
// running.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
