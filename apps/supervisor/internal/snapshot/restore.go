package snapshot

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/dev8/images/apps/supervisor/internal/xio"
)

// OpenArchive returns the raw bytes of the archive with the given ID.
type OpenArchive func(ctx context.Context, id string) (io.ReadCloser, error)

// ErrCorrupt marks a snapshot whose data does not match its manifest.
var ErrCorrupt = errors.New("snapshot is corrupt")

// Restore writes snapshot m into target, which must be empty or absent.
// Everything is extracted into a staging directory inside target and checked
// against the manifest's checksums first; only a fully verified snapshot is
// moved into place, so a corrupt or truncated one leaves target untouched.
func Restore(ctx context.Context, m *Manifest, target string, open OpenArchive) error {
	if err := checkPaths(m); err != nil {
		return err
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if names, err := os.ReadDir(target); err != nil {
		return fmt.Errorf("restore: %w", err)
	} else if len(names) > 0 {
		return fmt.Errorf("restore: target %s is not empty", target)
	}
	staging, err := os.MkdirTemp(target, ".restore-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := extract(ctx, m, staging, open); err != nil {
		os.RemoveAll(staging)
		return fmt.Errorf("restore snapshot %s: %w", m.ID, err)
	}
	return moveIntoPlace(m, staging, target)
}

func checkPaths(m *Manifest) error {
	for _, e := range m.Entries {
		if e.Path != "." && !filepath.IsLocal(filepath.FromSlash(e.Path)) {
			return fmt.Errorf("restore snapshot %s: %w: unsafe path %q", m.ID, ErrCorrupt, e.Path)
		}
	}
	return nil
}

func extract(ctx context.Context, m *Manifest, dir string, open OpenArchive) error {
	entries := append([]Entry(nil), m.Entries...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	byArchive := map[string]map[string]*Entry{}
	for i := range entries {
		e := &entries[i]
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		var err error
		switch {
		case e.Path == ".":
		case e.Kind == KindDir:
			err = os.Mkdir(p, 0o700)
		case e.Kind == KindSymlink:
			err = os.Symlink(e.Link, p)
		case e.needsContent():
			if byArchive[e.Archive] == nil {
				byArchive[e.Archive] = map[string]*Entry{}
			}
			byArchive[e.Archive][e.Path] = e
		case e.Kind == KindFile:
			err = os.WriteFile(p, nil, 0o600)
		}
		if err != nil {
			return err
		}
	}
	ids := make([]string, 0, len(byArchive))
	for id := range byArchive {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := extractArchive(ctx, m, id, dir, byArchive[id], open); err != nil {
			return err
		}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Path == "." {
			continue
		}
		if err := applyMeta(filepath.Join(dir, filepath.FromSlash(entries[i].Path)), entries[i]); err != nil {
			return err
		}
	}
	return nil
}

func extractArchive(ctx context.Context, m *Manifest, id, dir string, want map[string]*Entry, open OpenArchive) error {
	rc, err := open(ctx, id)
	if err != nil {
		return fmt.Errorf("open archive %s: %w", id, err)
	}
	defer rc.Close()
	raw := &counter{w: io.Discard}
	src := io.TeeReader(xio.CtxReader{Ctx: ctx, R: rc}, raw)
	zr, err := zstd.NewReader(src)
	if err != nil {
		return fmt.Errorf("%w: archive %s: %v", ErrCorrupt, id, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	buf := make([]byte, 256<<10)
	written := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return corrupt(ctx, id, err)
		}
		e, ok := want[hdr.Name]
		if !ok || written[hdr.Name] {
			continue
		}
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(e.Path)), tr, e, buf); err != nil {
			return corrupt(ctx, id, err)
		}
		written[hdr.Name] = true
	}
	if _, err := io.CopyBuffer(io.Discard, zr, buf); err != nil {
		return corrupt(ctx, id, err)
	}
	if _, err := io.CopyBuffer(io.Discard, src, buf); err != nil {
		return corrupt(ctx, id, err)
	}
	for name := range want {
		if !written[name] {
			return fmt.Errorf("%w: archive %s is truncated: %q is missing", ErrCorrupt, id, name)
		}
	}
	if got, exp := raw.n, m.Archives[id].Size; got != exp {
		return fmt.Errorf("%w: archive %s has %d bytes, manifest says %d", ErrCorrupt, id, got, exp)
	}
	return nil
}

func corrupt(ctx context.Context, id string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: archive %s: %v", ErrCorrupt, id, err)
}

func writeFile(p string, r io.Reader, e *Entry, buf []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), r, buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%q: %w", e.Path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != e.Size || sum != e.SHA256 {
		return fmt.Errorf("%q: got %d bytes with sha256 %s, manifest says %d bytes with %s", e.Path, n, sum, e.Size, e.SHA256)
	}
	return nil
}

func applyMeta(p string, e Entry) error {
	if os.Geteuid() == 0 {
		if err := os.Lchown(p, e.UID, e.GID); err != nil {
			return err
		}
	}
	if e.Kind != KindSymlink {
		if err := os.Chmod(p, fs.FileMode(e.Mode)&fs.ModePerm|specialBits(e.Mode)); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(e.MTime), unix.NsecToTimespec(e.MTime)}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func specialBits(mode uint32) fs.FileMode {
	m := fs.FileMode(mode)
	return m & (fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

func moveIntoPlace(m *Manifest, staging, target string) error {
	children, err := os.ReadDir(staging)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, c := range children {
		if err := os.Rename(filepath.Join(staging, c.Name()), filepath.Join(target, c.Name())); err != nil {
			return fmt.Errorf("restore: move into place: %w", err)
		}
	}
	if err := os.Remove(staging); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, e := range m.Entries {
		if e.Path == "." {
			return applyMeta(target, e)
		}
	}
	return nil
}
