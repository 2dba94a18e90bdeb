package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// cloudEnv starts moto and Azurite and returns the daemon's variables for
// both, and the stores to inspect them.
func cloudEnv(t *testing.T) ([]string, func() (s3, azure int)) {
	s3t, s3srv := testutil.S3Target(t, 10*time.Second)
	azt, azsrv := testutil.AzureTarget(t, 10*time.Second)
	env := []string{"AWS_S3_BUCKET=backups", "AWS_S3_PREFIX=ws1", "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_S3_ENDPOINT=" + s3srv.Endpoint, "AZURE_BLOB_ACCOUNT_NAME=" + testutil.AzuriteAccount,
		"AZURE_BLOB_ACCOUNT_KEY=" + testutil.AzuriteKey, "AZURE_BLOB_CONTAINER=backups", "AZURE_BLOB_PREFIX=ws1",
		"AZURE_BLOB_ENDPOINT=" + azsrv.Endpoint, "SUPERVISOR_BACKUP_MAX_ATTEMPTS=2", "SUPERVISOR_BACKUP_BACKEND_TIMEOUT=5s"}
	counts := func() (int, int) { return len(snapshotsOn(t, s3t)), len(snapshotsOn(t, azt)) }
	return env, counts
}

// daemonWith starts the daemon on ws with a mount target and extra variables.
func daemonWith(t *testing.T, ws, mount string, extra []string) (int, *bytes.Buffer) {
	port := testutil.FreePort(t)
	env := append([]string{"SUPERVISOR_WORKSPACE_DIR=" + ws, "SUPERVISOR_STATE_DIR=" + t.TempDir(), "BACKUP_ENABLED=true",
		"SUPERVISOR_BACKUP_MOUNT_PATH=" + mount, "SUPERVISOR_BACKUP_INTERVAL=1h",
		fmt.Sprintf("SUPERVISOR_HTTP_ADDR=127.0.0.1:%d", port)}, extra...)
	_, out := startDaemon(t, env...)
	waitHealthy(t, port, out)
	return port, out
}

func writeRandom(t *testing.T, path string, size int) {
	data := make([]byte, size)
	rand.Read(data)
	must(t, os.WriteFile(path, data, 0o644))
}

// TestFullMountDoesNotBlockCloudTargets: the 2 MB mount fills up; S3 and
// Azure still get the snapshot, and the mount shows its error instead of
// its previous "ok" (issue 11, defects 6 and 8).
func TestFullMountDoesNotBlockCloudTargets(t *testing.T) {
	mount := t.TempDir()
	if err := unix.Mount("tmpfs", mount, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v); this test needs root (TestMissingMountDoesNotBlockCloudTargets does not)", err)
	}
	t.Cleanup(func() { unix.Unmount(mount, unix.MNT_DETACH) })
	env, counts := cloudEnv(t)
	ws := t.TempDir()
	must(t, os.WriteFile(filepath.Join(ws, "small.txt"), []byte("fits"), 0o644))
	port, out := daemonWith(t, ws, mount, env)
	if code, body := call(t, "POST", port, "/v1/backup"); code != 200 {
		t.Fatalf("first backup = %d %s\n%s", code, body, out)
	}
	writeRandom(t, filepath.Join(ws, "big.bin"), 4<<20)
	code, body := call(t, "POST", port, "/v1/backup")
	if code != 500 || !strings.Contains(body, "no space left on device") {
		t.Fatalf("backup onto the full mount = %d %s", code, body)
	}
	if s3, az := counts(); s3 != 2 || az != 2 {
		t.Errorf("with the mount full, S3 has %d snapshots and Azure %d, want 2 each", s3, az)
	}
	st := targetStates(t, port)
	if st["mount"][0] != "error" || !strings.Contains(st["mount"][1], "no space left on device") {
		t.Errorf("the full mount shows %v", st["mount"])
	}
	if st["s3"][0] != "ok" || st["azure"][0] != "ok" {
		t.Fatalf("cloud targets: %v", st)
	}
}

// TestMissingMountDoesNotBlockCloudTargets: the mount path does not exist;
// S3 and Azure still get every snapshot (issue 11, defect 6).
func TestMissingMountDoesNotBlockCloudTargets(t *testing.T) {
	env, counts := cloudEnv(t)
	ws := t.TempDir()
	must(t, os.WriteFile(filepath.Join(ws, "work.txt"), []byte("work"), 0o644))
	port, _ := daemonWith(t, ws, filepath.Join(t.TempDir(), "not-mounted"), env)
	code, body := call(t, "POST", port, "/v1/backup")
	if code != 500 || !strings.Contains(body, "not-mounted") {
		t.Fatalf("backup without the mount = %d %s", code, body)
	}
	if s3, az := counts(); s3 != 1 || az != 1 {
		t.Fatalf("with the mount missing, S3 has %d snapshots and Azure %d, want 1 each", s3, az)
	}
	if st := targetStates(t, port); st["mount"][0] != "error" || st["s3"][0] != "ok" || st["azure"][0] != "ok" {
		t.Fatalf("target states: %v", st)
	}
}

// TestConfigRejectsOverflowAndNestedMount: an interval that overflows and
// a mount path inside the workspace are configuration errors naming the
// variable (issue 11, defect 8).
func TestConfigRejectsOverflowAndNestedMount(t *testing.T) {
	ws := t.TempDir()
	tests := []struct{ name, variable, value string }{
		{"interval overflow", "SUPERVISOR_BACKUP_INTERVAL", "18446744083"},
		{"mount inside the workspace", "SUPERVISOR_BACKUP_MOUNT_PATH", filepath.Join(ws, "backups")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"SUPERVISOR_WORKSPACE_DIR=" + ws, "SUPERVISOR_STATE_DIR=" + t.TempDir(), "BACKUP_ENABLED=true",
				"SUPERVISOR_HTTP_ENABLED=false", "SUPERVISOR_BACKUP_MOUNT_PATH=" + t.TempDir(), tc.variable + "=" + tc.value}
			cmd, out := startDaemon(t, env...)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out.String(), tc.variable) {
					t.Fatalf("exit %v, output:\n%s", err, out)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s=%s was accepted: the daemon is running\n%s", tc.variable, tc.value, out)
			}
		})
	}
}
