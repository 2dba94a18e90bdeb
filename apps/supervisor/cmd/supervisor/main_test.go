package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv("SUPERVISOR_TEST_RUN_MAIN") == "1" {
		// Run as the real binary: keep the arguments that are not the test framework's.
		args := os.Args[:1]
		for _, a := range os.Args[1:] {
			if !strings.HasPrefix(a, "-test.") {
				args = append(args, a)
			}
		}
		os.Args = args
		main()
		return
	}
	os.Exit(m.Run())
}

func TestCommands(t *testing.T) {
	base := map[string]string{"SUPERVISOR_WORKSPACE_DIR": t.TempDir(), "SUPERVISOR_STATE_DIR": t.TempDir()}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string
	}{
		{"version", []string{"version"}, nil, 0, "dev"},
		{"help", []string{"help"}, nil, 0, "usage:"},
		{"unknown", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"restore without target", []string{"restore"}, map[string]string{"SUPERVISOR_BACKUP_MOUNT_PATH": "/tmp"}, 2, "--target DIR is required"},
		{"restore without any target configured", []string{"restore", "--target", "/tmp/x"}, nil, 1, "no backup target configured"},
		{"restore from unconfigured", []string{"restore", "--from", "s3", "--target", "/tmp/x"}, map[string]string{"SUPERVISOR_BACKUP_MOUNT_PATH": "/tmp"}, 2, "--from s3"},
		{"disabled", nil, map[string]string{"SUPERVISOR_ENABLED": "false"}, 0, "supervisor disabled"},
		{"bad interval", nil, map[string]string{"SUPERVISOR_BACKUP_INTERVAL": "often"}, 1, "SUPERVISOR_BACKUP_INTERVAL must be"},
		{"no target", nil, map[string]string{"BACKUP_ENABLED": "true"}, 1, "BACKUP_ENABLED is true but no target"},
		{"public addr without token", nil, map[string]string{"SUPERVISOR_HTTP_ADDR": "0.0.0.0:9000"}, 1, "SUPERVISOR_HTTP_TOKEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if v, ok := tc.env[k]; ok {
					return v
				}
				return base[k]
			}
			var out bytes.Buffer
			code := run(tc.args, getenv, &out, &out)
			if code != tc.wantCode || !strings.Contains(out.String(), tc.wantOut) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d containing %q", code, out.String(), tc.wantCode, tc.wantOut)
			}
		})
	}
}

// startDaemon runs the real main in a child process.
func startDaemon(t *testing.T, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"SUPERVISOR_TEST_RUN_MAIN=1"}, env...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &out
}

func TestBadConfigProcessExitsNonZero(t *testing.T) {
	cmd, out := startDaemon(t, "SUPERVISOR_SHUTDOWN_TIMEOUT=forever")
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v", err)
	}
	if !strings.Contains(out.String(), "SUPERVISOR_SHUTDOWN_TIMEOUT") {
		t.Fatalf("error does not name the variable: %s", out)
	}
}

// TestSIGTERMRunsFinalBackup starts the daemon, changes the workspace and
// sends SIGTERM: it logs the signal, takes a final backup and exits 0.
func TestSIGTERMRunsFinalBackup(t *testing.T) {
	ws, mount := t.TempDir(), t.TempDir()
	port := testutil.FreePort(t)
	cmd, out := startDaemon(t, "SUPERVISOR_WORKSPACE_DIR="+ws, "SUPERVISOR_STATE_DIR="+t.TempDir(),
		"BACKUP_ENABLED=true", "SUPERVISOR_BACKUP_MOUNT_PATH="+mount, "SUPERVISOR_BACKUP_INTERVAL=1h",
		fmt.Sprintf("SUPERVISOR_HTTP_ADDR=127.0.0.1:%d", port), "AWS_SECRET_ACCESS_KEY=do-not-log-me")
	waitHealthy(t, port, out)
	os.WriteFile(filepath.Join(ws, "work.txt"), []byte("unsaved work"), 0o644)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, out)
		}
	case <-time.After(9 * time.Second):
		t.Fatalf("daemon did not stop within the budget:\n%s", out)
	}
	log := out.String()
	for _, want := range []string{`"msg":"shutdown"`, `"signal":"SIGTERM"`, `"msg":"final backup done"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "do-not-log-me") {
		t.Error("a secret was logged")
	}
	if snaps, _ := filepath.Glob(filepath.Join(mount, "snapshots", "*.json.zst")); len(snaps) != 1 {
		t.Fatalf("final backup did not write a snapshot: %v", snaps)
	}
	restoreCLI(t, mount, ws)
}

// restoreCLI restores the snapshot with the restore command, then damages
// the archive and checks that the command refuses it.
func restoreCLI(t *testing.T, mount, ws string) {
	getenv := func(k string) string {
		if k == "SUPERVISOR_BACKUP_MOUNT_PATH" {
			return mount
		}
		return ""
	}
	dst := filepath.Join(t.TempDir(), "restored")
	var out bytes.Buffer
	if code := run([]string{"restore", "--snapshot", "latest", "--target", dst}, getenv, &out, &out); code != 0 {
		t.Fatalf("restore exit %d:\n%s", code, out.String())
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "work.txt")); string(got) != "unsaved work" {
		t.Fatalf("restored work.txt = %q", got)
	}
	archives, _ := filepath.Glob(filepath.Join(mount, "archives", "*.tar.zst"))
	if len(archives) != 1 {
		t.Fatalf("archives: %v", archives)
	}
	testutil.FlipByte(t, archives[0])
	out.Reset()
	dst2 := filepath.Join(t.TempDir(), "restored")
	code := run([]string{"restore", "--target", dst2}, getenv, &out, &out)
	if code == 0 || !strings.Contains(out.String(), "snapshot is corrupt") {
		t.Fatalf("corrupt restore: exit %d\n%s", code, out.String())
	}
	if left, _ := os.ReadDir(dst2); len(left) != 0 {
		t.Fatalf("corrupt restore left %v", left)
	}
}
