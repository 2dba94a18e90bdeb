package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// fileLock is an exclusive flock on a file in the state directory. The
// kernel releases it when the process dies, so it cannot go stale; the file
// records the owner for the error message.
type fileLock struct{ f *os.File }

func acquireLock(dir string, now time.Time) (*fileLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "backup.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(f.Name())
		f.Close()
		return nil, fmt.Errorf("another backup is running (%s): %w", strings.TrimSpace(string(owner)), err)
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	fmt.Fprintf(f, "pid=%d host=%s since=%s\n", os.Getpid(), host, now.UTC().Format(time.RFC3339))
	return &fileLock{f}, nil
}

func (l *fileLock) release() {
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
}
