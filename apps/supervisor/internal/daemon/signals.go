package daemon

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP}

// signalName names the signal that cancelled a signal.NotifyContext context.
func signalName(ctx context.Context) string {
	cause := context.Cause(ctx)
	if cause == nil {
		return ""
	}
	for _, s := range stopSignals {
		if cause.Error() == s.String()+" signal received" {
			return unix.SignalName(s.(syscall.Signal))
		}
	}
	return cause.Error()
}

// reapChildren collects orphaned zombies when running as PID 1 without an
// init such as tini. It returns when ctx ends.
func reapChildren(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGCHLD)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			for {
				var ws unix.WaitStatus
				pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
