package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"

	"golang.org/x/sys/unix"
)

// OpenArchive opens the archive with the given ID for reading.
type OpenArchive func(ctx context.Context, id string) (io.ReadCloser, error)

// ErrCorrupt is wrapped by restore errors caused by damaged snapshot data.
var ErrCorrupt = errors.New("snapshot is corrupt")

// ErrTransport is wrapped by restore errors caused by failing to read an
// archive (a dropped connection, an unreachable backend): the snapshot may
// be intact, and trying again may succeed.
var ErrTransport = errors.New("transport error")

// RestoreOptions changes how Restore treats damage.
type RestoreOptions struct {
	// SkipCorrupt restores every file that verifies and reports the others
	// in RestoreReport.Lost, instead of failing on the first damage.
	SkipCorrupt bool
}

// RestoreReport tells what a successful restore could not bring back.
type RestoreReport struct {
	Lost         []Name    `json:"lost,omitempty"`         // damaged files left out (SkipCorrupt)
	Inconsistent []Name    `json:"inconsistent,omitempty"` // files that were changing when backed up
	Skipped      []Skipped `json:"skipped,omitempty"`      // paths the backup could not read
}

// Restore writes snapshot m into target, which must be empty or absent.
// Everything is extracted into a staging directory inside target and each
// file is checked against the manifest; then the entries are moved into
// place and directory modes applied last (so read-only directories do not
// get in the way). On failure nothing is left in target.
func Restore(ctx context.Context, m *Manifest, target string, open OpenArchive, opt RestoreOptions) (RestoreReport, error) {
	var rep RestoreReport
	if err := checkEntries(m); err != nil {
		return rep, fmt.Errorf("restore snapshot %s: %w", m.ID, err)
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	if names, err := os.ReadDir(target); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	} else if len(names) > 0 {
		return rep, fmt.Errorf("restore: target %s is not empty", target)
	}
	staging, err := os.MkdirTemp(target, ".restore-")
	if err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	r := &restorer{m: m, staging: staging, target: target, open: open, opt: opt}
	if err := r.run(ctx, &rep); err != nil {
		r.cleanup()
		return RestoreReport{}, fmt.Errorf("restore snapshot %s: %w", m.ID, err)
	}
	for _, e := range m.Entries {
		if e.Inconsistent {
			rep.Inconsistent = append(rep.Inconsistent, Name(e.Path))
		}
	}
	rep.Skipped = m.Skipped
	return rep, nil
}

// checkEntries refuses paths that leave the target, duplicates, and
// entries whose parent is not a directory of the snapshot (which could
// make a write follow a symlink out of the target).
func checkEntries(m *Manifest) error {
	dirs := map[string]bool{".": true}
	for i, e := range m.Entries {
		if e.Path != "." && !filepath.IsLocal(filepath.FromSlash(e.Path)) {
			return fmt.Errorf("%w: unsafe path %q", ErrCorrupt, e.Path)
		}
		if i > 0 && m.Entries[i-1].Path >= e.Path {
			return fmt.Errorf("%w: entries out of order at %q", ErrCorrupt, e.Path)
		}
		if e.Path != "." && !dirs[path.Dir(e.Path)] {
			return fmt.Errorf("%w: the parent of %q is not a directory of the snapshot", ErrCorrupt, e.Path)
		}
		if e.Kind == KindDir {
			dirs[e.Path] = true
		}
	}
	return nil
}

type restorer struct {
	m       *Manifest
	staging string
	target  string
	open    OpenArchive
	opt     RestoreOptions
	moved   []string // top-level names already moved into target
}

func (r *restorer) run(ctx context.Context, rep *RestoreReport) error {
	byArchive := map[string]map[string]*Entry{}
	for i := range r.m.Entries {
		e := &r.m.Entries[i]
		p := r.at(r.staging, e.Path)
		var err error
		switch {
		case e.Path == ".":
		case e.Kind == KindDir:
			err = os.Mkdir(p, 0o700)
		case e.NeedsContent():
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
	lost := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(byArchive)) {
		if err := r.extract(ctx, id, byArchive[id], lost); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(lost)) {
		rep.Lost = append(rep.Lost, Name(name))
	}
	for _, e := range r.m.Entries {
		if e.Kind == KindSymlink {
			if err := os.Symlink(e.Link, r.at(r.staging, e.Path)); err != nil {
				return err
			}
		}
	}
	for _, e := range r.m.Entries {
		if e.Kind != KindDir && !lost[e.Path] {
			if err := applyMeta(r.at(r.staging, e.Path), e); err != nil {
				return err
			}
		}
	}
	if err := r.moveIntoPlace(); err != nil {
		return err
	}
	return r.applyDirMeta()
}

func (r *restorer) at(dir, rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }

func (r *restorer) moveIntoPlace() error {
	children, err := os.ReadDir(r.staging)
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := os.Rename(r.at(r.staging, c.Name()), r.at(r.target, c.Name())); err != nil {
			return fmt.Errorf("move into place: %w", err)
		}
		r.moved = append(r.moved, c.Name())
	}
	return os.Remove(r.staging)
}

// applyDirMeta sets directories' owners, modes and times in place,
// deepest first, the target itself (the snapshot's root) last.
func (r *restorer) applyDirMeta() error {
	var dirs []Entry
	for _, e := range r.m.Entries {
		if e.Kind == KindDir {
			dirs = append(dirs, e)
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].Path > dirs[j].Path })
	for _, e := range dirs {
		if err := applyMeta(r.at(r.target, e.Path), e); err != nil {
			return err
		}
	}
	return nil
}

// cleanup removes everything the restore created inside the target,
// making read-only directories writable first.
func (r *restorer) cleanup() {
	forceRemove(r.staging)
	for _, name := range r.moved {
		forceRemove(r.at(r.target, name))
	}
}

func forceRemove(p string) {
	if os.RemoveAll(p) == nil {
		return
	}
	filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	os.RemoveAll(p)
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
