package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

func newTestEngine(t *testing.T, ws string, targets ...store.Store) *Engine {
	t.Helper()
	// A short settle time keeps the tests quick; the torn-file tests use the default.
	return New(Options{Workspace: ws, StateDir: t.TempDir(), KeepLast: 3, KeepDaily: 2, Targets: targets,
		Now: testClock(), Settle: 100 * time.Millisecond})
}

// testClock starts on 2026-01-01 and moves a second at every reading.
func testClock() func() time.Time {
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
}

func mustBackup(t *testing.T, e *Engine) Result {
	t.Helper()
	r := e.Backup(context.Background(), "test")
	if r.Err != nil {
		t.Fatalf("backup: %v", r.Err)
	}
	return r
}

func restoreEqual(t *testing.T, st store.Store, id, ws string) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "restored")
	if _, _, err := Restore(context.Background(), st, id, dst, snapshot.RestoreOptions{}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	testutil.Equal(t, testutil.Snapshot(t, ws, "node_modules/.cache"), testutil.Snapshot(t, dst))
}

func TestBackupRestoreIncremental(t *testing.T) {
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 300)
	local := &store.Local{Dir: t.TempDir()}
	e := newTestEngine(t, ws, local)

	first := mustBackup(t, e)
	if first.Unchanged || first.ChangedFiles == 0 {
		t.Fatalf("first backup should archive files: %+v", first)
	}
	restoreEqual(t, local, "latest", ws)

	second := mustBackup(t, e)
	if !second.Unchanged || second.Snapshot != first.Snapshot {
		t.Fatalf("unchanged workspace should not produce a snapshot: %+v", second)
	}

	if err := os.WriteFile(filepath.Join(ws, "d01", "e1", "f00001.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	third := mustBackup(t, e)
	if third.Unchanged || third.ChangedFiles != 1 {
		t.Fatalf("one changed file should be archived alone: %+v", third)
	}
	restoreEqual(t, local, "latest", ws)

	// A fresh engine (a restarted supervisor) finds the base on the target.
	if r := mustBackup(t, newTestEngine(t, ws, local)); !r.Unchanged {
		t.Fatalf("restarted engine should see no change: %+v", r)
	}
}

func TestRestoreRefusesCorruptArchive(t *testing.T) {
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 50)
	local := &store.Local{Dir: t.TempDir()}
	r := mustBackup(t, newTestEngine(t, ws, local))
	path := filepath.Join(local.Dir, filepath.FromSlash(archiveKey(r.Snapshot)))
	for name, damage := range map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b },
		"truncated":    func(b []byte) []byte { return b[:len(b)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			orig := append([]byte(nil), data...)
			t.Cleanup(func() { os.WriteFile(path, orig, 0o600) })
			if err := os.WriteFile(path, damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "restored")
			_, _, err = Restore(context.Background(), local, r.Snapshot, dst, snapshot.RestoreOptions{})
			if !errors.Is(err, snapshot.ErrCorrupt) {
				t.Fatalf("want ErrCorrupt, got %v", err)
			}
			if !strings.Contains(err.Error(), r.Snapshot) {
				t.Errorf("error should name the snapshot: %v", err)
			}
			if left, _ := os.ReadDir(dst); len(left) != 0 {
				t.Fatalf("corrupt restore left files behind: %v", left)
			}
		})
	}
}

func TestRetentionDeletesUnreferencedArchives(t *testing.T) {
	ws := t.TempDir()
	local := &store.Local{Dir: t.TempDir()}
	e := newTestEngine(t, ws, local)
	for i := range 6 {
		if err := os.WriteFile(filepath.Join(ws, "f"), []byte(strings.Repeat("x", i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
		mustBackup(t, e)
	}
	ids, err := ListSnapshots(context.Background(), local)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("keep last 3 (all on one day): got %v", ids)
	}
	keys, _ := local.List(context.Background(), archivePrefix)
	if len(keys) != 3 {
		t.Fatalf("archives of dropped snapshots should be deleted: %v", keys)
	}
	dst := filepath.Join(t.TempDir(), "oldest")
	if _, _, err := Restore(context.Background(), local, ids[0], dst, snapshot.RestoreOptions{}); err != nil {
		t.Fatalf("oldest kept snapshot should restore: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "f")); string(got) != "xxxx" {
		t.Fatalf("oldest kept snapshot has %q", got)
	}
}

// TestRestoreWithAMissingArchive: the default restore names the missing
// archive as corruption; --skip-corrupt restores the files of the other
// archives and lists the rest.
func TestRestoreWithAMissingArchive(t *testing.T) {
	ws := t.TempDir()
	os.WriteFile(filepath.Join(ws, "old.txt"), []byte("in the first archive"), 0o644)
	local := &store.Local{Dir: t.TempDir()}
	e := newTestEngine(t, ws, local)
	first := mustBackup(t, e)
	os.WriteFile(filepath.Join(ws, "new.txt"), []byte("in the second archive"), 0o644)
	second := mustBackup(t, e)
	if err := local.Delete(context.Background(), archiveKey(first.Snapshot)); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	_, _, err := Restore(context.Background(), local, second.Snapshot, dst, snapshot.RestoreOptions{})
	if !errors.Is(err, snapshot.ErrCorrupt) || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("default restore: %v", err)
	}
	_, rep, err := Restore(context.Background(), local, second.Snapshot, dst, snapshot.RestoreOptions{SkipCorrupt: true})
	if err != nil || len(rep.Lost) != 1 || rep.Lost[0] != "old.txt" {
		t.Fatalf("--skip-corrupt: lost %q, %v", rep.Lost, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "new.txt")); string(got) != "in the second archive" {
		t.Fatalf("new.txt = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dst, "old.txt")); !os.IsNotExist(err) {
		t.Fatalf("the lost file was created: %v", err)
	}
}
