package store

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

type flaky struct {
	Local
	failures int
	err      error
	calls    int
}

func (f *flaky) Put(ctx context.Context, key string, r io.ReadSeeker, size int64) error {
	f.calls++
	if f.calls <= f.failures {
		io.ReadAll(r) // consume, so a missing rewind would be caught
		return f.err
	}
	return f.Local.Put(ctx, key, r, size)
}

func TestRetrying(t *testing.T) {
	transient := errors.New("connection reset")
	tests := []struct {
		name      string
		failures  int
		err       error
		wantCalls int
		wantErr   bool
	}{
		{"succeeds first time", 0, transient, 1, false},
		{"transient then ok", 2, transient, 3, false},
		{"transient forever", 10, transient, 4, true},
		{"disk full not retried", 10, classifyOS(syscall.ENOSPC), 1, true},
		{"access denied not retried", 10, Permanent(errors.New("403")), 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &flaky{Local: Local{Dir: t.TempDir()}, failures: tc.failures, err: tc.err}
			var slept []time.Duration
			r := &Retrying{Store: f, Attempts: 4, Base: time.Second, Max: 3 * time.Second,
				Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
			err := r.Put(context.Background(), "k", strings.NewReader("payload"), 7)
			if (err != nil) != tc.wantErr || f.calls != tc.wantCalls {
				t.Fatalf("err=%v calls=%d, want err=%v calls=%d", err, f.calls, tc.wantErr, tc.wantCalls)
			}
			for _, d := range slept {
				if d > 3*time.Second {
					t.Fatalf("backoff %s above cap", d)
				}
			}
			if !tc.wantErr {
				rc, err := f.Get(context.Background(), "k")
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				if string(got) != "payload" {
					t.Fatalf("retried upload stored %q", got)
				}
			}
		})
	}
}

func TestLocalRequiresMountedDir(t *testing.T) {
	l := &Local{Dir: t.TempDir() + "/not-mounted"}
	err := l.Put(context.Background(), "archives/a", strings.NewReader("x"), 1)
	if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "is the volume mounted") {
		t.Fatalf("want a permanent error about the mount, got %v", err)
	}
}
