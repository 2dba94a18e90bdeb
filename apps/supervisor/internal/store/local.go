package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/xio"
)

// Local stores objects as files under a directory, such as a mounted volume.
type Local struct {
	Dir string
}

// Name returns "mount".
func (l *Local) Name() string { return "mount" }

func (l *Local) path(key string) string { return filepath.Join(l.Dir, filepath.FromSlash(key)) }

// mkdirFor creates the directories under Dir that key needs. Dir itself must
// exist: a volume that is not mounted is an error, not a new empty directory.
func (l *Local) mkdirFor(key string) (string, error) {
	if info, err := os.Stat(l.Dir); err != nil || !info.IsDir() {
		return "", Permanent(fmt.Errorf("backup mount path %s is not an existing directory (is the volume mounted?)", l.Dir))
	}
	dir := filepath.Dir(l.path(key))
	return dir, classifyOS(os.MkdirAll(dir, 0o700))
}

// Put writes to a temporary file in the destination directory, checks the
// byte count, fsyncs, renames and fsyncs the directory.
func (l *Local) Put(ctx context.Context, key string, r io.ReadSeeker, size int64) (err error) {
	dst := l.path(key)
	dir, err := l.mkdirFor(key)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return classifyOS(err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, xio.CtxReader{Ctx: ctx, R: r})
	if err != nil {
		return classifyOS(err)
	}
	if n != size {
		return fmt.Errorf("put %s: wrote %d bytes, expected %d", key, n, size)
	}
	if err := f.Sync(); err != nil {
		return classifyOS(err)
	}
	if err := f.Close(); err != nil {
		return classifyOS(err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return classifyOS(err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return classifyOS(err)
	}
	defer d.Close()
	return classifyOS(d.Sync())
}

// PutFile hard-links path into place when it is on the same filesystem
// (no copy), then fsyncs, renames and fsyncs the directory like Put; across
// filesystems it copies.
func (l *Local) PutFile(ctx context.Context, key, path string, size int64) error {
	dst := l.path(key)
	dir, err := l.mkdirFor(key)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".tmp-"+filepath.Base(dst)+"-link")
	os.Remove(tmp)
	if err := os.Link(path, tmp); err != nil {
		f, err := os.Open(path)
		if err != nil {
			return Permanent(err)
		}
		defer f.Close()
		return l.Put(ctx, key, f, size)
	}
	if err := syncFile(tmp, size); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return classifyOS(err)
	}
	return syncDir(dir)
}

func syncFile(p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return classifyOS(err)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || info.Size() != size {
		return fmt.Errorf("put %s: size mismatch (%v)", p, err)
	}
	return classifyOS(f.Sync())
}

// SweepTemp removes temporary files older than age, left behind by a
// process killed in the middle of a Put.
func (l *Local) SweepTemp(age time.Duration) error {
	cutoff := time.Now().Add(-age)
	return filepath.WalkDir(l.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), ".tmp-") {
			if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
				os.Remove(p)
			}
		}
		return nil
	})
}

// SpoolDir is where archives should be written before PutFile so that
// PutFile can link them: a hidden directory on the same filesystem.
func (l *Local) SpoolDir() string { return filepath.Join(l.Dir, ".spool") }

// Get opens the file for key.
func (l *Local) Get(_ context.Context, key string) (io.ReadCloser, error) {
	f, err := os.Open(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return f, classifyOS(err)
}

// List returns the keys of the files under prefix, skipping temporary files.
func (l *Local) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	root := l.path(prefix)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(l.Dir, p)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	return keys, classifyOS(err)
}

// Delete removes the file for key.
func (l *Local) Delete(_ context.Context, key string) error {
	err := os.Remove(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return classifyOS(err)
}

// classifyOS marks disk-full, quota, permission and read-only errors permanent.
func classifyOS(err error) error {
	if err == nil {
		return nil
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EACCES, syscall.EPERM, syscall.EROFS} {
		if errors.Is(err, errno) {
			return Permanent(err)
		}
	}
	return err
}
