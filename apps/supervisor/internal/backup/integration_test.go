package backup

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

func retrying(s store.Store, attempts int) store.Store {
	return &store.Retrying{Store: s, Attempts: attempts, Base: 50 * time.Millisecond, Max: 200 * time.Millisecond}
}

// TestRoundTripAllTargets backs a few thousand files up to a mount, moto's
// S3 and Azurite at once and restores byte-identical trees from each.
func TestRoundTripAllTargets(t *testing.T) {
	s3t, _ := testutil.S3Target(t, 10*time.Second)
	azt, _ := testutil.AzureTarget(t, 10*time.Second)
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 3000)
	targets := []store.Store{retrying(&store.Local{Dir: t.TempDir()}, 3), retrying(s3t, 3), retrying(azt, 3)}
	e := newTestEngine(t, ws, targets...)
	mustBackup(t, e)
	for _, tg := range targets {
		t.Run("restore from "+tg.Name(), func(t *testing.T) { restoreEqual(t, tg, "latest", ws) })
	}
	if err := os.WriteFile(filepath.Join(ws, "d05", "e0", "new file ✓"), []byte("incremental"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := mustBackup(t, e); r.ChangedFiles != 1 {
		t.Fatalf("incremental backup archived %d files, want 1", r.ChangedFiles)
	}
	for _, tg := range targets {
		t.Run("incremental from "+tg.Name(), func(t *testing.T) { restoreEqual(t, tg, "latest", ws) })
	}
}

// pausingStore stops the backend server right before the archive upload.
type pausingStore struct {
	store.Store
	pause       func()
	archivePuts int
}

func (p *pausingStore) Put(ctx context.Context, key string, r io.ReadSeeker, size int64) error {
	if strings.HasPrefix(key, archivePrefix) {
		p.archivePuts++
		if p.pause != nil {
			p.pause()
			p.pause = nil
		}
	}
	return p.Store.Put(ctx, key, r, size)
}

// TestBackendStopsMidBackup pauses moto as the archive upload starts: the
// upload times out and is retried, the backup fails, no partial snapshot is
// listed, and once the backend is back the next backup succeeds and the
// orphaned archive is removed.
func TestBackendStopsMidBackup(t *testing.T) {
	s3t, srv := testutil.S3Target(t, time.Second)
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 100)
	ps := &pausingStore{Store: s3t}
	target := retrying(ps, 3)
	e := newTestEngine(t, ws, target)
	first := mustBackup(t, e)

	os.WriteFile(filepath.Join(ws, "changed"), []byte("after the first backup"), 0o644)
	ps.pause = func() { srv.Signal(t, syscall.SIGSTOP) }
	r := e.Backup(context.Background(), "test")
	t.Logf("failed backup: %v", r.Err)
	if r.Err == nil {
		t.Fatal("backup against a stopped backend should fail")
	}
	if ps.archivePuts != 1+3 {
		t.Fatalf("archive upload attempts = %d, want 3 after the first backup's 1", ps.archivePuts)
	}
	if st := e.Status(); st.Targets[0].State != "error" || st.LastError == "" {
		t.Fatalf("status should report the failure: %+v", st)
	}
	srv.Signal(t, syscall.SIGCONT)
	ids, err := ListSnapshots(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != first.Snapshot {
		t.Fatalf("only the first snapshot should be listed, got %v", ids)
	}
	if r := mustBackup(t, e); r.Unchanged {
		t.Fatal("the change must still be backed up")
	}
	restoreEqual(t, target, "latest", ws)
	keys, _ := target.List(context.Background(), archivePrefix)
	if len(keys) != 2 {
		t.Fatalf("want the two referenced archives, got %v", keys)
	}
}
