package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/backup"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// nobody is the unprivileged user the non-root tests run the binary as.
const nobody = 65534

// needRoot skips a test that must create files owned by another user.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create root-owned files and run the binary as nobody")
	}
}

// openDir returns a fresh directory that every user can traverse (t.TempDir's
// parents are private to root).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "supervisor-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+rwx", dir).Run(); os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ownedBy creates dir owned by uid.
func ownedBy(t *testing.T, dir string, uid int) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// binaryFor copies the test binary (which runs main when
// SUPERVISOR_TEST_RUN_MAIN=1) where every user can execute it.
func binaryFor(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "workspace-supervisor")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// runAs runs the binary with args as uid and returns its exit code and output.
func runAs(t *testing.T, bin string, uid int, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"SUPERVISOR_TEST_RUN_MAIN=1", "PATH=/usr/bin:/bin"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// waitHealthy waits until the daemon on port answers /healthz.
func waitHealthy(t *testing.T, port int, out fmt.Stringer) {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start:\n%s", out)
		}
	}
}

// call sends a request to the daemon on port and returns the status and body.
func call(t *testing.T, method string, port int, path string) (int, string) {
	t.Helper()
	return testutil.Do(t, method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), "")
}

// targetStates returns name -> state and last_error from /v1/status.
func targetStates(t *testing.T, port int) map[string][2]string {
	t.Helper()
	_, body := call(t, "GET", port, "/v1/status")
	var st struct {
		Backup struct {
			Targets []struct {
				Name      string `json:"name"`
				State     string `json:"state"`
				LastError string `json:"last_error"`
			} `json:"targets"`
		} `json:"backup"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status: %v\n%s", err, body)
	}
	out := map[string][2]string{}
	for _, tg := range st.Backup.Targets {
		out[tg.Name] = [2]string{tg.State, tg.LastError}
	}
	return out
}

// snapshotsOn lists the committed snapshots of a target.
func snapshotsOn(t *testing.T, s store.Store) []string {
	t.Helper()
	ids, err := backup.ListSnapshots(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

var ownerRE = regexp.MustCompile(` uid=\d+ gid=\d+`)

// withoutOwners drops the owners from a testutil.Snapshot description, for
// trees restored by a user who cannot chown.
func withoutOwners(tree map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tree {
		out[k] = ownerRE.ReplaceAllString(v, "")
	}
	return out
}

// mountEnv is the environment of a restore from a mount target.
func mountEnv(mount string) func(string) string {
	return func(k string) string {
		if k == "SUPERVISOR_BACKUP_MOUNT_PATH" {
			return mount
		}
		return ""
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
