package backup

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

const tornSize = 32 << 20

// rewrite overwrites path in place with size bytes of v, 1 MiB per write.
func rewrite(t *testing.T, path string, v byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{v}, 1<<20)
	for off := int64(0); off < tornSize; off += int64(len(chunk)) {
		if _, err := f.WriteAt(chunk, off); err != nil {
			t.Error(err)
			return
		}
	}
}

// tearingFS rewrites the file on disk once, after the archiver has read
// its first mebibyte.
type tearingFS struct {
	snapshot.OSFS
	t    *testing.T
	done *atomic.Bool
}

type tearingFile struct {
	*os.File
	fs   tearingFS
	read int
}

func (f *tearingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	if f.read += n; f.read >= 1<<20 && f.fs.done.CompareAndSwap(false, true) {
		rewrite(f.fs.t, f.Name(), 'B')
	}
	return n, err
}

func (fs tearingFS) Open(name string) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil || filepath.Base(name) != "big.bin" {
		return f, err
	}
	return &tearingFile{File: f, fs: fs}, nil
}

// checkNotTorn restores the snapshot and fails if big.bin holds more than
// one version without the manifest marking it inconsistent and the restore
// reporting it.
func checkNotTorn(t *testing.T, st store.Store, id string) (torn bool) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "restored")
	m, rep, err := Restore(context.Background(), st, id, dst, snapshot.RestoreOptions{})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dst, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == tornSize && bytes.Count(data, data[:1]) == tornSize {
		return false
	}
	flagged := slices.Contains(rep.Inconsistent, "big.bin")
	for _, e := range m.Entries {
		if e.Path == "big.bin" && e.Inconsistent && flagged {
			return true
		}
	}
	t.Fatalf("snapshot %s restored big.bin as a mix of versions (%d bytes, starting %q) and did not flag it",
		id, len(data), data[:1])
	return false
}

// TestFileRewrittenDuringRead: a file rewritten in place while it is read
// is read again, and the snapshot holds one version of it (issue 11,
// defect 3).
func TestFileRewrittenDuringRead(t *testing.T) {
	ws := t.TempDir()
	rewrite(t, filepath.Join(ws, "big.bin"), 'A')
	local := &store.Local{Dir: t.TempDir()}
	e := New(Options{Workspace: ws, StateDir: t.TempDir(), KeepLast: 3, Targets: []store.Store{local},
		FS: tearingFS{t: t, done: new(atomic.Bool)}})
	r := mustBackup(t, e)
	if checkNotTorn(t, local, r.Snapshot) {
		t.Fatal("a file that changed once while read should have been read again, not flagged")
	}
}

// TestFileRewrittenContinuously: while another process keeps rewriting a
// 32 MB file with three versions, every snapshot restores one version of
// it or flags it as inconsistent; none is silently torn (issue 11,
// defect 3).
func TestFileRewrittenContinuously(t *testing.T) {
	ws := t.TempDir()
	path := filepath.Join(ws, "big.bin")
	rewrite(t, path, 'A')
	local := &store.Local{Dir: t.TempDir()}
	e := New(Options{Workspace: ws, StateDir: t.TempDir(), KeepLast: 3, Targets: []store.Store{local}})
	testutil.Loop(t, func(i int) {
		rewrite(t, path, "ABC"[i%3])
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
	})
	flagged := 0
	for range 6 {
		if checkNotTorn(t, local, mustBackup(t, e).Snapshot) {
			flagged++
		}
	}
	t.Logf("%d of 6 snapshots flagged big.bin as inconsistent", flagged)
}
