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

// Scan walks the root and returns its entries sorted by path. Paths that
// vanish during the walk are skipped.
func (s *Scanner) Scan() ([]Entry, error) {
	fsys := s.FS
	if fsys == nil {
		fsys = OSFS{}
	}
	m := NewMatcher(append(append([]string{}, DefaultExcludes...), s.Excludes...)...)
	if f, err := fsys.Open(filepath.Join(s.Root, IgnoreFile)); err == nil {
		err = m.AddFrom(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
		}
	}
	w := walker{fs: fsys, root: s.Root, match: m}
	info, err := fsys.Lstat(s.Root)
	if err != nil {
		return nil, fmt.Errorf("scan workspace: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("scan workspace: %s is not a directory", s.Root)
	}
	if err := w.visit(".", info); err != nil {
		return nil, err
	}
	sort.Slice(w.out, func(i, j int) bool { return w.out[i].Path < w.out[j].Path })
	return w.out, nil
}

type walker struct {
	fs    FS
	root  string
	match *Matcher
	out   []Entry
}

func (w *walker) abs(rel string) string { return filepath.Join(w.root, filepath.FromSlash(rel)) }

func (w *walker) visit(rel string, info fs.FileInfo) error {
	e, ok, err := w.entry(rel, info)
	if err != nil || !ok {
		return err
	}
	w.out = append(w.out, e)
	if e.Kind != KindDir {
		return nil
	}
	children, err := w.fs.ReadDir(w.abs(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scan %s: %w", rel, err)
	}
	for _, c := range children {
		crel := path.Join(rel, c.Name())
		if w.match.Excluded(crel, c.IsDir()) {
			continue
		}
		ci, err := w.fs.Lstat(w.abs(crel))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("scan %s: %w", crel, err)
		}
		if err := w.visit(crel, ci); err != nil {
			return err
		}
	}
	return nil
}

// entry converts info; ok is false for types that are not backed up
// (sockets, devices, fifos).
func (w *walker) entry(rel string, info fs.FileInfo) (Entry, bool, error) {
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
		target, err := w.fs.Readlink(w.abs(rel))
		if errors.Is(err, fs.ErrNotExist) {
			return e, false, nil
		}
		if err != nil {
			return e, false, fmt.Errorf("scan %s: %w", rel, err)
		}
		e.Link = target
	default:
		return e, false, nil
	}
	return e, true, nil
}

// Diff carries checksums and archive references over from prev for entries
// whose metadata is unchanged. It returns the entries whose content must be
// read, and whether anything at all differs from prev.
func Diff(prev *Manifest, cur []Entry) (toRead []int, changed bool) {
	old := map[string]Entry{}
	if prev != nil {
		for _, e := range prev.Entries {
			old[e.Path] = e
		}
	}
	changed = prev == nil || len(prev.Entries) != len(cur)
	for i := range cur {
		o, ok := old[cur[i].Path]
		if ok && o.sameMeta(cur[i]) {
			cur[i].SHA256, cur[i].Archive = o.SHA256, o.Archive
			continue
		}
		changed = true
		if cur[i].needsContent() {
			toRead = append(toRead, i)
		} else if cur[i].Kind == KindFile {
			cur[i].SHA256 = emptySHA256
		}
	}
	return toRead, changed
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
