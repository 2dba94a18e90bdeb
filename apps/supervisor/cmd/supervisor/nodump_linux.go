//go:build linux

package main

import "golang.org/x/sys/unix"

// hideProcess makes this process non-dumpable: its /proc/PID files, environ
// among them, become root's, so the workspace user's shells in the same
// container cannot read the storage credentials the supervisor was started
// with, and cannot attach a debugger to it.
func hideProcess() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
