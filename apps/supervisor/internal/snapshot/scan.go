package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"syscall"
)

// Scanner lists the workspace's entries with their metadata, without reading
// file contents.
type Scanner struct {
	Root     string
	FS       FS
	Excludes []string // patterns added after DefaultExcludes and before .backupignore
}

// Scan walks the root and returns its entries sorted by path. A path that
// vanishes during the walk, or that cannot be listed or read (a directory
// the supervisor may not open), is left out and reported in skipped; only
// a problem with the root itself or .backupignore is an error.
func (s *Scanner) Scan() (entries []Entry, skipped []Skipped, err error) {
	fsys := s.FS
	if fsys == nil {
		fsys = OSFS{}
	}
	m := NewMatcher(append(append([]string{}, DefaultExcludes...), s.Excludes...)...)
	if f, err := fsys.Open(filepath.Join(s.Root, IgnoreFile)); err == nil {
		err = m.AddFrom(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	w := walker{fs: fsys, root: s.Root, match: m}
	info, err := fsys.Lstat(s.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("scan workspace: %w", err)
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("scan workspace: %s is not a directory", s.Root)
	}
	w.visit(".", info)
	sort.Slice(w.out, func(i, j int) bool { return w.out[i].Path < w.out[j].Path })
	return w.out, w.skipped, nil
}

type walker struct {
	fs      FS
	root    string
	match   *Matcher
	out     []Entry
	skipped []Skipped
}

func (w *walker) abs(rel string) string { return filepath.Join(w.root, filepath.FromSlash(rel)) }

func (w *walker) skip(rel string, err error) {
	w.skipped = append(w.skipped, Skipped{Path: Name(rel), Reason: Reason(err)})
}

func (w *walker) visit(rel string, info fs.FileInfo) {
	e, ok, err := w.entry(rel, info)
	if err != nil {
		w.skip(rel, err)
		return
	}
	if !ok {
		return
	}
	w.out = append(w.out, e)
	if e.Kind != KindDir {
		return
	}
	children, err := w.fs.ReadDir(w.abs(rel))
	if errors.Is(err, fs.ErrNotExist) {
		w.out = w.out[:len(w.out)-1]
		w.skip(rel, err)
		return
	}
	if err != nil {
		// The directory itself is kept (as an empty one); its content is not.
		w.skip(rel+"/", err)
		return
	}
	for _, c := range children {
		crel := path.Join(rel, c.Name())
		if w.match.Excluded(crel, c.IsDir()) {
			continue
		}
		ci, err := w.fs.Lstat(w.abs(crel))
		if err != nil {
			w.skip(crel, err)
			continue
		}
		w.visit(crel, ci)
	}
}

// entry converts info; ok is false for types that are not backed up
// (sockets, devices, fifos).
func (w *walker) entry(rel string, info fs.FileInfo) (Entry, bool, error) {
	e := entryFromInfo(rel, info)
	switch {
	case info.Mode().IsRegular(), info.IsDir():
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := w.fs.Readlink(w.abs(rel))
		if err != nil {
			return e, false, err
		}
		e.Link = target
	default:
		return e, false, nil
	}
	return e, true, nil
}

// entryFromInfo fills an entry's metadata from lstat or fstat output.
func entryFromInfo(rel string, info fs.FileInfo) Entry {
	e := Entry{Path: rel, Mode: uint32(info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)),
		MTime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(st.Uid), int(st.Gid)
		e.CTime = st.Ctim.Nano()
	}
	switch {
	case info.Mode().IsRegular():
		e.Kind, e.Size = KindFile, info.Size()
	case info.IsDir():
		e.Kind = KindDir
	case info.Mode()&fs.ModeSymlink != 0:
		e.Kind = KindSymlink
	}
	return e
}

// Reason says briefly why a path was skipped: "vanished", the errno's
// text, or the error.
func Reason(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "vanished"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}
