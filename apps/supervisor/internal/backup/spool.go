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

// spoolDirer is implemented by the mount target: archives spooled there
// are linked into place instead of copied.
type spoolDirer interface{ SpoolDir() string }

// spoolError is a failure to write the spooled archive (disk full, ...),
// as opposed to a failure to read the workspace.
type spoolError struct{ err error }

func (s spoolError) Error() string { return "spool: " + s.err.Error() }
func (s spoolError) Unwrap() error { return s.err }

// spool writes the archive of entries[toRead] to a file: on the mount
// target's filesystem when the mount is in the run, else in the state
// directory. When the mount cannot take it (full, missing, read-only) the
// mount is failed for this run and the archive is written again in the
// state directory for the other targets. It returns the targets still in
// the run (none when the mount was the only one).
func (rs *runState) spool(ctx context.Context, need []*target, id string, entries []snapshot.Entry, toRead []int) (
	snapshot.ArchiveResult, string, []*target, error) {
	for _, t := range need {
		sd, ok := t.store.(spoolDirer)
		if !ok {
			continue
		}
		path := filepath.Join(sd.SpoolDir(), spoolName(id))
		res, err := rs.e.writeSpool(ctx, path, id, entries, toRead)
		if err == nil {
			return res, path, need, nil
		}
		removeFile(path)
		if !errors.As(err, new(spoolError)) {
			return res, "", need, err
		}
		rs.fail(t, err)
		need = without(need, t)
		if len(need) == 0 {
			return res, "", need, nil
		}
	}
	path := filepath.Join(rs.e.opt.StateDir, spoolName(id))
	res, err := rs.e.writeSpool(ctx, path, id, entries, toRead)
	return res, path, need, err
}

func spoolName(id string) string { return "spool-" + id + archiveSuffix }

func without(ts []*target, t *target) []*target {
	var out []*target
	for _, o := range ts {
		if o != t {
			out = append(out, o)
		}
	}
	return out
}

// writeSpool writes the archive to path, whose parent directory is
// created (but not its grandparent: a mount that is missing stays missing).
func (e *Engine) writeSpool(ctx context.Context, path, id string, entries []snapshot.Entry, toRead []int) (snapshot.ArchiveResult, error) {
	dir := filepath.Dir(path)
	if err := os.Mkdir(dir, 0o700); errors.Is(err, fs.ErrNotExist) {
		return snapshot.ArchiveResult{}, spoolError{fmt.Errorf("%s does not exist (is the backup volume mounted?)", filepath.Dir(dir))}
	} else if err != nil && !errors.Is(err, fs.ErrExist) {
		return snapshot.ArchiveResult{}, spoolError{err}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return snapshot.ArchiveResult{}, spoolError{err}
	}
	defer f.Close()
	fw := newSpoolWriter(f)
	defer fw.close()
	aw := &snapshot.ArchiveWriter{Root: e.opt.Workspace, FS: e.opt.FS, Settle: e.opt.Settle}
	res, err := aw.Write(ctx, fw, id, entries, toRead)
	if fw.err != nil {
		return res, spoolError{fw.err}
	}
	if err != nil {
		return res, fmt.Errorf("write archive: %w", err)
	}
	return res, nil
}

// spoolWriter writes the spooled archive. It keeps the first write error,
// which is the spool's (disk full, ...) rather than the workspace's, and
// starts the writeback of every 8 MiB on another goroutine, so that the
// disk works while the archive is still being compressed and the fsync at
// commit finds little left to do.
type spoolWriter struct {
	f       *os.File
	off     int64
	flushed int64
	err     error
	ranges  chan [2]int64
	done    chan struct{}
}

const flushEvery = 8 << 20

func newSpoolWriter(f *os.File) *spoolWriter {
	w := &spoolWriter{f: f, ranges: make(chan [2]int64, 64), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for r := range w.ranges {
			unix.SyncFileRange(int(f.Fd()), r[0], r[1], unix.SYNC_FILE_RANGE_WRITE)
		}
	}()
	return w
}

func (w *spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if err != nil && w.err == nil {
		w.err = err
	}
	if w.off-w.flushed >= flushEvery {
		select {
		case w.ranges <- [2]int64{w.flushed, w.off - w.flushed}:
			w.flushed = w.off
		default: // the disk is behind: the next range will cover this one
		}
	}
	return n, err
}

// close waits for the writeback requests; the file stays open.
func (w *spoolWriter) close() {
	close(w.ranges)
	<-w.done
}

// removeStaleSpools removes spool files left by a killed process (the
// backup lock is held, so none is in use).
func (e *Engine) removeStaleSpools() {
	dirs := []string{e.opt.StateDir}
	for _, t := range e.targets {
		if sd, ok := t.store.(spoolDirer); ok {
			dirs = append(dirs, sd.SpoolDir())
		}
	}
	for _, dir := range dirs {
		old, _ := filepath.Glob(filepath.Join(dir, "spool-*"))
		for _, p := range old {
			os.Remove(p)
		}
	}
}

func removeFile(path string) { os.Remove(path) }
