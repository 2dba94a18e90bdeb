package daemon

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/config"
)

func TestSignalName(t *testing.T) {
	tests := []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGTERM, "SIGTERM"},
		{syscall.SIGINT, "SIGINT"},
		{syscall.SIGHUP, "SIGHUP"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			ctx, stop := signal.NotifyContext(context.Background(), tc.sig)
			defer stop()
			syscall.Kill(os.Getpid(), tc.sig)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("signal not delivered")
			}
			if got := signalName(ctx); got != tc.want {
				t.Fatalf("signalName = %q", got)
			}
		})
	}
}

func testConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	base := map[string]string{"SUPERVISOR_WORKSPACE_DIR": t.TempDir(), "SUPERVISOR_STATE_DIR": t.TempDir()}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.Load(func(k string) string { return base[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRunDisabledReturnsAtOnce(t *testing.T) {
	cfg := testConfig(t, map[string]string{"SUPERVISOR_ENABLED": "false"})
	if err := Run(context.Background(), cfg, "test", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
}

func TestRunReportsBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t, map[string]string{"SUPERVISOR_HTTP_ADDR": ln.Addr().String()})
	err = Run(context.Background(), cfg, "test", slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "SUPERVISOR_HTTP_ADDR") {
		t.Fatalf("want an error naming SUPERVISOR_HTTP_ADDR, got %v", err)
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	cfg := testConfig(t, map[string]string{"SUPERVISOR_HTTP_ENABLED": "false"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Run(ctx, cfg, "test", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Run did not stop promptly")
	}
}
