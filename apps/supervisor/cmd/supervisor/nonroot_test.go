package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dev8/images/apps/supervisor/internal/backup"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// TestUnreadableFilesAreSkippedAsNonRoot runs the daemon as nobody over a
// workspace holding a root-owned 0600 file and 0700 directory: the backup
// succeeds, names both in the status, and the rest restores (issue 11,
// defect 2).
func TestUnreadableFilesAreSkippedAsNonRoot(t *testing.T) {
	needRoot(t)
	base := openDir(t)
	ws := filepath.Join(base, "ws")
	must(t, os.MkdirAll(filepath.Join(ws, "public"), 0o755))
	must(t, os.WriteFile(filepath.Join(ws, "readable.txt"), []byte("anyone"), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "public", "ok.txt"), []byte("ok"), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "secret.txt"), []byte("root only"), 0o600))
	must(t, os.Mkdir(filepath.Join(ws, "private"), 0o700))
	must(t, os.WriteFile(filepath.Join(ws, "private", "inner.txt"), []byte("root only"), 0o644))
	mount := ownedBy(t, filepath.Join(base, "mount"), nobody)
	state := ownedBy(t, filepath.Join(base, "state"), nobody)
	port := testutil.FreePort(t)
	cmd := exec.Command(binaryFor(t, base))
	cmd.Env = []string{"SUPERVISOR_TEST_RUN_MAIN=1", "SUPERVISOR_WORKSPACE_DIR=" + ws, "SUPERVISOR_STATE_DIR=" + state,
		"BACKUP_ENABLED=true", "SUPERVISOR_BACKUP_MOUNT_PATH=" + mount, "SUPERVISOR_BACKUP_INTERVAL=1h",
		fmt.Sprintf("SUPERVISOR_HTTP_ADDR=127.0.0.1:%d", port)}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitHealthy(t, port, &out)

	code, body := call(t, "POST", port, "/v1/backup")
	if code != 200 {
		t.Fatalf("backup as nobody = %d %s\n%s", code, body, out.String())
	}
	_, status := call(t, "GET", port, "/v1/status")
	for _, name := range []string{"secret.txt", "private"} {
		if !strings.Contains(status, name) {
			t.Errorf("the status does not name the skipped %s:\n%s", name, status)
		}
	}
	dst := filepath.Join(t.TempDir(), "restored")
	var rout bytes.Buffer
	if code := run([]string{"restore", "--target", dst}, mountEnv(mount), &rout, &rout); code != 0 {
		t.Fatalf("restore exit %d:\n%s", code, rout.String())
	}
	for p, want := range map[string]string{"readable.txt": "anyone", "public/ok.txt": "ok"} {
		if got, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(got) != want {
			t.Errorf("%s restored as %q (%v)", p, got, err)
		}
	}
}

// moduleCacheTree builds read-only directories like Go's module cache.
func moduleCacheTree(t *testing.T, ws string) {
	mod := filepath.Join(ws, "pkg", "mod", "example.com", "m@v1.0.0")
	must(t, os.MkdirAll(filepath.Join(mod, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/m\n"), 0o444))
	must(t, os.WriteFile(filepath.Join(mod, "sub", "x.go"), []byte("package sub\n"), 0o444))
	must(t, os.WriteFile(filepath.Join(ws, "top.txt"), []byte("top"), 0o644))
	must(t, os.MkdirAll(filepath.Join(ws, "readonly", "inner"), 0o755))
	must(t, os.WriteFile(filepath.Join(ws, "readonly", "inner", "f"), []byte("f"), 0o444))
	for _, d := range []string{filepath.Join(mod, "sub"), mod, filepath.Join(ws, "readonly", "inner"), filepath.Join(ws, "readonly")} {
		must(t, os.Chmod(d, 0o555))
	}
}

// TestRestoreReadOnlyDirsAsNonRoot restores, as nobody, a snapshot holding
// 0555 directories: the tree comes back with its modes; a corrupt archive
// leaves nothing in the target (issue 11, defect 7).
func TestRestoreReadOnlyDirsAsNonRoot(t *testing.T) {
	needRoot(t)
	base := openDir(t)
	ws := filepath.Join(base, "ws")
	must(t, os.Mkdir(ws, 0o755))
	moduleCacheTree(t, ws)
	mount := filepath.Join(base, "mount")
	must(t, os.Mkdir(mount, 0o755))
	e := backup.New(backup.Options{Workspace: ws, StateDir: t.TempDir(), KeepLast: 3, Targets: []store.Store{&store.Local{Dir: mount}}})
	if r := e.Backup(context.Background(), "test"); r.Err != nil {
		t.Fatal(r.Err)
	}
	must(t, exec.Command("chown", "-R", fmt.Sprint(nobody), mount).Run())
	out := ownedBy(t, filepath.Join(base, "out"), nobody)
	bin := binaryFor(t, base)
	env := []string{"SUPERVISOR_BACKUP_MOUNT_PATH=" + mount, "SUPERVISOR_STATE_DIR=" + out}

	dst := filepath.Join(out, "restored")
	if code, output := runAs(t, bin, nobody, env, "restore", "--target", dst); code != 0 {
		left, _ := os.ReadDir(dst)
		t.Fatalf("restore as nobody: exit %d\n%s\nleft in the target: %v", code, output, left)
	}
	testutil.Equal(t, withoutOwners(testutil.Snapshot(t, ws)), withoutOwners(testutil.Snapshot(t, dst)))

	archives, _ := filepath.Glob(filepath.Join(mount, "archives", "*"))
	testutil.FlipByte(t, archives[0])
	dst2 := filepath.Join(out, "corrupt")
	if code, output := runAs(t, bin, nobody, env, "restore", "--target", dst2); code != 1 {
		t.Fatalf("corrupt restore as nobody: exit %d\n%s", code, output)
	}
	if left, _ := os.ReadDir(dst2); len(left) != 0 {
		t.Fatalf("a failed restore left %v in the target", left)
	}
}
