package backup

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// TestDeletedNewestManifest: after the newest snapshot's manifest is
// deleted from the target, the next backup never answers with that
// snapshot's ID (issue 11, defect 8).
func TestDeletedNewestManifest(t *testing.T) {
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 20)
	local := &store.Local{Dir: t.TempDir()}
	e := newTestEngine(t, ws, local)
	mustBackup(t, e)
	os.WriteFile(filepath.Join(ws, "new.txt"), []byte("second"), 0o644)
	second := mustBackup(t, e)
	if err := os.Remove(filepath.Join(local.Dir, manifestKey(second.Snapshot))); err != nil {
		t.Fatal(err)
	}
	r := mustBackup(t, e)
	ids, _ := ListSnapshots(context.Background(), local)
	if !slices.Contains(ids, r.Snapshot) {
		t.Fatalf("backup answered snapshot %s (unchanged=%v), which is not on the target: %v", r.Snapshot, r.Unchanged, ids)
	}
	restoreEqual(t, local, "latest", ws)
}

// TestCorruptBaseArchive: a byte of the base snapshot's archive is damaged
// on the mount; a later backup must not report ok with a snapshot that
// cannot be restored: it reports the damage and archives the files again
// (issue 11, defect 8).
func TestCorruptBaseArchive(t *testing.T) {
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 200)
	local := &store.Local{Dir: t.TempDir()}
	e := newTestEngine(t, ws, local)
	first := mustBackup(t, e)
	testutil.FlipByte(t, filepath.Join(local.Dir, archiveKey(first.Snapshot)))
	os.WriteFile(filepath.Join(ws, "later.txt"), []byte("a later change"), 0o644)
	r := mustBackup(t, e)
	if w := r.Targets[0].Warnings; len(w) != 1 || !strings.Contains(w[0], "is damaged") {
		t.Fatalf("the damage is not reported: %q", w)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	if _, _, err := Restore(context.Background(), local, r.Snapshot, dst, snapshot.RestoreOptions{}); err != nil {
		t.Fatalf("backup %s reported ok but cannot be restored: %v", r.Snapshot, err)
	}
	testutil.Equal(t, testutil.Snapshot(t, ws, "node_modules/.cache"), testutil.Snapshot(t, dst))
}

// countingStore counts the archives read back from the store.
type countingStore struct {
	store.Store
	archiveGets int
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if strings.HasPrefix(key, archivePrefix) {
		c.archiveGets++
	}
	return c.Store.Get(ctx, key)
}

// TestArchivesAreReadBackOnlyWithCause: an archive this process wrote is
// not read back; a restarted process checks the archives it reuses once;
// an archive rewritten on the target is checked again.
func TestArchivesAreReadBackOnlyWithCause(t *testing.T) {
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 50)
	cs := &countingStore{Store: &store.Local{Dir: t.TempDir()}}
	engine := func() *Engine {
		return New(Options{Workspace: ws, StateDir: t.TempDir(), KeepLast: 3, Targets: []store.Store{cs},
			VerifyInterval: time.Hour, Now: testClock(), Settle: 100 * time.Millisecond})
	}
	e := engine()
	first := mustBackup(t, e)
	mustBackup(t, e)
	if cs.archiveGets != 0 {
		t.Fatalf("archives read back %d times right after writing them", cs.archiveGets)
	}
	e = engine()
	mustBackup(t, e)
	mustBackup(t, e)
	if cs.archiveGets != 1 {
		t.Fatalf("a restarted engine read archives back %d times, want once", cs.archiveGets)
	}
	path := filepath.Join(cs.Store.(*store.Local).Dir, archiveKey(first.Snapshot))
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data, 0o600) // same bytes, but rewritten
	if r := mustBackup(t, e); !r.Unchanged || cs.archiveGets != 2 {
		t.Fatalf("a rewritten archive: %d reads, result %+v", cs.archiveGets, r)
	}
}
