package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// writeVersion1 stores ws on local as the previous format did: SHA-256
// checksums, one zstd frame per archive, a version 1 manifest.
func writeVersion1(t *testing.T, local *store.Local, ws, id string) {
	t.Helper()
	entries, _, err := (&snapshot.Scanner{Root: ws}).Scan()
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	zw, _ := zstd.NewWriter(&archive)
	tw := tar.NewWriter(zw)
	for i := range entries {
		e := &entries[i]
		if !e.NeedsContent() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(ws, e.Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		e.SHA256, e.Archive = hex.EncodeToString(sum[:]), id
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.Path, Size: e.Size, Mode: 0o644, Format: tar.FormatPAX})
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	m := &snapshot.Manifest{Version: 1, ID: id, Entries: entries,
		Archives: map[string]snapshot.ArchiveInfo{id: {Size: int64(archive.Len())}}}
	var manifest bytes.Buffer
	if err := m.Encode(&manifest); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := local.PutBytes(ctx, archiveKey(id), archive.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := local.PutBytes(ctx, manifestKey(id), manifest.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestVersion1Snapshots: snapshots written in the previous format restore,
// and the next backup builds on them.
func TestVersion1Snapshots(t *testing.T) {
	ws := t.TempDir()
	testutil.MakeTree(t, ws, 100)
	local := &store.Local{Dir: t.TempDir()}
	old := newID(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	writeVersion1(t, local, ws, old)
	restoreEqual(t, local, old, ws)

	os.WriteFile(filepath.Join(ws, "new.txt"), []byte("after the upgrade"), 0o644)
	e := New(Options{Workspace: ws, StateDir: t.TempDir(), KeepLast: 3, Targets: []store.Store{local},
		VerifyInterval: time.Hour, Now: testClock(), Settle: 100 * time.Millisecond})
	r := mustBackup(t, e)
	if r.ChangedFiles != 1 {
		t.Fatalf("the backup after a version 1 snapshot archived %d files, want the one new file", r.ChangedFiles)
	}
	restoreEqual(t, local, "latest", ws)
}
