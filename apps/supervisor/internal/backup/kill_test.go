package backup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

const helperEnv = "SUPERVISOR_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "backup-and-hang" {
		helperBackupAndHang()
		return
	}
	os.Exit(m.Run())
}

// hangingStore signals the parent test once the archive upload has begun,
// then never finishes it.
type hangingStore struct {
	store.Store
	marker string
}

func (h *hangingStore) PutFile(ctx context.Context, key, path string) (store.Object, error) {
	if strings.HasPrefix(key, archivePrefix) {
		os.WriteFile(h.marker, nil, 0o600)
		select {}
	}
	return h.Store.PutFile(ctx, key, path)
}

func helperBackupAndHang() {
	target := &hangingStore{Store: &store.Local{Dir: os.Getenv("HELPER_STORE")}, marker: os.Getenv("HELPER_MARKER")}
	e := New(Options{Workspace: os.Getenv("HELPER_WS"), StateDir: os.Getenv("HELPER_STATE"), KeepLast: 3, Targets: []store.Store{target}})
	r := e.Backup(context.Background(), "helper")
	os.Stderr.WriteString("helper backup returned: " + r.Error + "\n")
	os.Exit(3)
}

// TestSIGKILLMidBackup kills a process in the middle of uploading an
// archive: the previous snapshot is still the latest and restores, and the
// next backup (lock released by the kernel) succeeds.
func TestSIGKILLMidBackup(t *testing.T) {
	ws, dir, state := t.TempDir(), t.TempDir(), t.TempDir()
	testutil.MakeTree(t, ws, 200)
	local := &store.Local{Dir: dir}
	first := mustBackup(t, New(Options{Workspace: ws, StateDir: state, KeepLast: 3, Targets: []store.Store{local}}))
	before := testutil.Snapshot(t, ws, "node_modules/.cache")

	changed := filepath.Join(ws, "d00", "e0", "f00000.txt")
	if err := os.WriteFile(changed, []byte("changed before the killed backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "uploading")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=backup-and-hang", "HELPER_WS="+ws, "HELPER_STORE="+dir,
		"HELPER_STATE="+state, "HELPER_MARKER="+marker)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("helper never started uploading")
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	ids, err := ListSnapshots(context.Background(), local)
	if err != nil || len(ids) != 1 || ids[0] != first.Snapshot {
		t.Fatalf("after SIGKILL want only %s, got %v (%v)", first.Snapshot, ids, err)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	if _, _, err := Restore(context.Background(), local, "latest", dst, snapshot.RestoreOptions{}); err != nil {
		t.Fatalf("previous snapshot must still restore: %v", err)
	}
	testutil.Equal(t, before, testutil.Snapshot(t, dst))

	r := mustBackup(t, New(Options{Workspace: ws, StateDir: state, KeepLast: 3, Targets: []store.Store{local}}))
	if r.Unchanged {
		t.Fatal("the change must be backed up after the crash")
	}
	restoreEqual(t, local, "latest", ws)
}
