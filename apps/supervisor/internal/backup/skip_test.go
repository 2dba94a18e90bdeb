package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// vanishingFS deletes a file just before the archiver opens it: the file
// was listed by the scan and is gone when its content is read.
type vanishingFS struct {
	snapshot.OSFS
	name string
}

func (v vanishingFS) Open(name string) (io.ReadCloser, error) {
	if filepath.Base(name) == v.name {
		os.Remove(name)
	}
	return v.OSFS.Open(name)
}

// TestFileVanishingBeforeReadIsSkipped: a file deleted between the scan
// and the read does not fail the backup; it is named in the status and the
// snapshot restores without it (issue 11, defect 2).
func TestFileVanishingBeforeReadIsSkipped(t *testing.T) {
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 100)
	if err := os.WriteFile(filepath.Join(ws, "vanish-me.txt"), []byte("gone before it is read"), 0o644); err != nil {
		t.Fatal(err)
	}
	local := &store.Local{Dir: t.TempDir()}
	e := New(Options{Workspace: ws, StateDir: t.TempDir(), KeepLast: 20, Targets: []store.Store{local},
		FS: vanishingFS{name: "vanish-me.txt"}})
	r := e.Backup(context.Background(), "test")
	if r.Err != nil {
		t.Fatalf("a file that vanished failed the backup: %v", r.Err)
	}
	if st := jsonOf(t, e.Status()); !strings.Contains(st, "vanish-me.txt") {
		t.Fatalf("the skipped file is not named in the status: %s", st)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	if _, _, err := Restore(context.Background(), local, r.Snapshot, dst, snapshot.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "vanish-me.txt")); !os.IsNotExist(err) {
		t.Fatalf("the vanished file was restored: %v", err)
	}
}

// TestChurningDirectoryDoesNotFailBackups: files created and deleted every
// millisecond beside 32 MB of data never fail a backup (issue 11, defect 2).
func TestChurningDirectoryDoesNotFailBackups(t *testing.T) {
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 100)
	big := make([]byte, 32<<20)
	for i := range big {
		big[i] = byte(i * 7 / 13)
	}
	if err := os.WriteFile(filepath.Join(ws, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, ws, &store.Local{Dir: t.TempDir()})
	churn := filepath.Join(ws, "churn")
	os.Mkdir(churn, 0o755)
	testutil.Loop(t, func(i int) {
		p := filepath.Join(churn, fmt.Sprintf("tmp-%d", i%50))
		os.WriteFile(p, []byte("short-lived"), 0o644)
		time.Sleep(time.Millisecond)
		os.Remove(p)
	})
	for i := range 8 {
		os.WriteFile(filepath.Join(ws, "counter"), []byte(fmt.Sprint(i)), 0o644)
		if r := e.Backup(context.Background(), "test"); r.Err != nil {
			t.Fatalf("backup %d beside a churning directory: %v", i, r.Err)
		}
	}
}
