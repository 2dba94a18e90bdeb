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

// path maps a key to a file under Dir; keys that would leave Dir are refused.
func (l *Local) path(key string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return "", fmt.Errorf("key %q is not a path inside the backup mount", key)
	}
	return filepath.Join(l.Dir, filepath.FromSlash(key)), nil
}

// mounted checks that Dir exists: a volume that is not mounted is an
// error, never a new empty directory.
func (l *Local) mounted() error {
	if info, err := os.Stat(l.Dir); err != nil || !info.IsDir() {
		return fmt.Errorf("backup mount path %s is not an existing directory (is the volume mounted?)", l.Dir)
	}
	return nil
}

// prepare returns the destination of key and creates the directories it needs.
func (l *Local) prepare(key string) (string, error) {
	if err := l.mounted(); err != nil {
		return "", err
	}
	dst, err := l.path(key)
	if err != nil {
		return "", err
	}
	return dst, os.MkdirAll(filepath.Dir(dst), 0o700)
}

// PutBytes writes a temporary file in the destination directory, fsyncs
// it, renames it into place and fsyncs the directory.
func (l *Local) PutBytes(_ context.Context, key string, data []byte) error {
	dst, err := l.prepare(key)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return commit(f, err, dst)
}

// commit fsyncs and closes the temporary file f (after writeErr, the error
// of filling it), renames it to dst and fsyncs the directory; on failure
// the temporary file is removed.
func commit(f *os.File, writeErr error, dst string) error {
	err := writeErr
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// PutFile hard-links path into place when it is on the same filesystem
// (no copy), otherwise copies it to a temporary file; then fsyncs, renames
// and fsyncs the directory.
func (l *Local) PutFile(ctx context.Context, key, path string) (Object, error) {
	dst, err := l.prepare(key)
	if err != nil {
		return Object{}, err
	}
	tmp := filepath.Join(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-link")
	os.Remove(tmp)
	var f *os.File
	if err := os.Link(path, tmp); err == nil {
		if f, err = os.OpenFile(tmp, os.O_RDWR, 0); err != nil {
			os.Remove(tmp)
			return Object{}, err
		}
		err = commit(f, nil, dst)
	} else {
		err = copyInto(ctx, path, dst)
	}
	if err != nil {
		return Object{}, err
	}
	info, err := os.Stat(dst)
	if err != nil {
		return Object{}, err
	}
	return l.object(key, info), nil
}

func copyInto(ctx context.Context, path, dst string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return err
	}
	_, err = io.Copy(f, xio.CtxReader{Ctx: ctx, R: src})
	return commit(f, err, dst)
}

// object describes the file of key. Its version changes when the file is
// replaced or written to (not with the ctime, which unlinking the spooled
// copy changes too).
func (l *Local) object(key string, info fs.FileInfo) Object {
	v := fmt.Sprintf("%d-%d", info.Size(), info.ModTime().UnixNano())
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		v += fmt.Sprintf("-%d", st.Ino)
	}
	return Object{Key: key, Size: info.Size(), Version: v}
}

// SweepTemp removes temporary files older than age, left behind by a
// process killed in the middle of a put.
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
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		if merr := l.mounted(); merr != nil {
			return nil, merr
		}
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return f, err
}

// List returns the files under prefix, skipping temporary files.
func (l *Local) List(_ context.Context, prefix string) ([]Object, error) {
	if err := l.mounted(); err != nil {
		return nil, err
	}
	root, err := l.path(prefix)
	if err != nil {
		return nil, err
	}
	var objs []Object
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(l.Dir, p)
		if err != nil {
			return err
		}
		objs = append(objs, l.object(filepath.ToSlash(rel), info))
		return nil
	})
	return objs, err
}

// Delete removes the file for key.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	err = os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
