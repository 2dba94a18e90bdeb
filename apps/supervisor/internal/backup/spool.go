package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
)

// writeSpool writes the archive of entries[idx] to path.
func writeSpool(ctx context.Context, path, root string, fsys snapshot.FS, id string, entries []snapshot.Entry, idx []int) (snapshot.ArchiveInfo, error) {
	// Mkdir, not MkdirAll: the spool may live on a mount that must not be
	// created when it is missing.
	dir := filepath.Dir(path)
	if err := os.Mkdir(dir, 0o700); errors.Is(err, fs.ErrNotExist) {
		return snapshot.ArchiveInfo{}, fmt.Errorf("spool: %s does not exist (is the backup volume mounted?)", filepath.Dir(dir))
	} else if err != nil && !errors.Is(err, fs.ErrExist) {
		return snapshot.ArchiveInfo{}, fmt.Errorf("spool: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return snapshot.ArchiveInfo{}, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	aw := &snapshot.ArchiveWriter{Root: root, FS: fsys}
	info, err := aw.Write(ctx, &flushingWriter{f: f}, id, entries, idx)
	if err != nil {
		return info, fmt.Errorf("write archive: %w", err)
	}
	return info, nil
}

// flushingWriter starts the writeback of every 8 MiB written, so the disk
// works while the archive is still being compressed and the fsync at commit
// finds little left to do.
type flushingWriter struct {
	f            *os.File
	off, flushed int64
}

const flushEvery = 8 << 20

func (w *flushingWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= flushEvery {
		unix.SyncFileRange(int(w.f.Fd()), w.flushed, w.off-w.flushed, unix.SYNC_FILE_RANGE_WRITE)
		w.flushed = w.off
	}
	return n, err
}

func removeStaleSpools(dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, "spool-*"))
	for _, p := range old {
		os.Remove(p)
	}
}
