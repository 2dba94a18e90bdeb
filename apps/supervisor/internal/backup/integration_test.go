package backup

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// TestRoundTripAllTargets backs a few thousand files up to a mount, moto's
// S3 and Azurite at once and restores byte-identical trees from each.
func TestRoundTripAllTargets(t *testing.T) {
	s3t, _ := testutil.S3Target(t, 10*time.Second)
	azt, _ := testutil.AzureTarget(t, 10*time.Second)
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 3000)
	targets := []store.Store{&store.Local{Dir: t.TempDir()}, s3t, azt}
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
