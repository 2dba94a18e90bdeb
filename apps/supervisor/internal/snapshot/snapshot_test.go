package snapshot

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatcher(t *testing.T) {
	m := NewMatcher(append(DefaultExcludes, "*.log", "/build/", "docs/tmp", "!keep.log")...)
	tests := []struct {
		path  string
		isDir bool
		want  bool
	}{
		{"node_modules/.cache", true, true},
		{"web/node_modules/.cache", true, true},
		{"node_modules/react", true, false},
		{".cache", true, true},
		{"a/b/__pycache__", true, true},
		{"__pycache__", false, false}, // dir-only rule
		{"server.log", false, true},
		{"deep/dir/server.log", false, true},
		{"keep.log", false, false}, // negated later
		{"build", true, true},
		{"src/build", true, false}, // anchored at root
		{"docs/tmp", false, true},
		{"x/docs/tmp", false, false},
		{"main.go", false, false},
	}
	for _, tc := range tests {
		if got := m.Excluded(tc.path, tc.isDir); got != tc.want {
			t.Errorf("Excluded(%q, dir=%v) = %v, want %v", tc.path, tc.isDir, got, tc.want)
		}
	}
}

func TestScanReadsBackupignore(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, IgnoreFile), []byte("# comment\nsecret.txt\nvendor/\n"), 0o644)
	for _, p := range []string{"secret.txt", "vendor/lib.go", "main.go"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(p), 0o644)
	}
	entries, err := (&Scanner{Root: root}).Scan()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, e.Path)
	}
	if got := strings.Join(paths, ","); got != ".,.backupignore,main.go" {
		t.Fatalf("scanned %s", got)
	}
}

// failingFS injects read errors into the real filesystem.
type failingFS struct {
	OSFS
	failOpen string
}

func (f failingFS) Open(name string) (io.ReadCloser, error) {
	if filepath.Base(name) == f.failOpen {
		return nil, fs.ErrPermission
	}
	return f.OSFS.Open(name)
}

func TestArchiveReportsUnreadableFile(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "locked"), []byte("data"), 0o644)
	s := &Scanner{Root: root, FS: failingFS{failOpen: "locked"}}
	entries, err := s.Scan()
	if err != nil {
		t.Fatal(err)
	}
	idx, changed := Diff(nil, entries)
	if !changed || len(idx) != 1 {
		t.Fatalf("diff = %v %v", idx, changed)
	}
	aw := &ArchiveWriter{Root: root, FS: s.FS}
	_, err = aw.Write(context.Background(), io.Discard, "a1", entries, idx)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("want a permission error naming the file, got %v", err)
	}
}

func TestDiff(t *testing.T) {
	prev := &Manifest{Entries: []Entry{
		{Path: ".", Kind: KindDir, MTime: 1},
		{Path: "a", Kind: KindFile, Size: 3, MTime: 1, SHA256: "aaa", Archive: "x"},
		{Path: "b", Kind: KindFile, Size: 3, MTime: 1, SHA256: "bbb", Archive: "x"},
	}}
	tests := []struct {
		name        string
		cur         []Entry
		wantRead    int
		wantChanged bool
	}{
		{"same", []Entry{prev.Entries[0], prev.Entries[1], prev.Entries[2]}, 0, false},
		{"modified", []Entry{prev.Entries[0], prev.Entries[1], {Path: "b", Kind: KindFile, Size: 3, MTime: 2}}, 1, true},
		{"chmod only", []Entry{prev.Entries[0], prev.Entries[1], {Path: "b", Kind: KindFile, Size: 3, MTime: 1, Mode: 0o600}}, 1, true},
		{"deleted", []Entry{prev.Entries[0], prev.Entries[1]}, 0, true},
		{"new empty file", []Entry{prev.Entries[0], prev.Entries[1], prev.Entries[2], {Path: "c", Kind: KindFile}}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := append([]Entry(nil), tc.cur...)
			for i := range cur {
				cur[i].SHA256, cur[i].Archive = "", ""
			}
			idx, changed := Diff(prev, cur)
			if len(idx) != tc.wantRead || changed != tc.wantChanged {
				t.Fatalf("read %d changed %v", len(idx), changed)
			}
			if cur[1].SHA256 != "aaa" || cur[1].Archive != "x" {
				t.Fatal("unchanged entry lost its checksum")
			}
		})
	}
}

func TestManifestRejectsDamage(t *testing.T) {
	m := &Manifest{Version: FormatVersion, ID: "s1", Archives: map[string]ArchiveInfo{},
		Entries: []Entry{{Path: "a", Kind: KindFile, Size: 1, SHA256: "x", Archive: "gone"}}}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeManifest(bytes.NewReader(buf.Bytes())); err == nil {
		t.Fatal("a manifest referencing an unknown archive must be rejected")
	}
	if _, err := DecodeManifest(bytes.NewReader(buf.Bytes()[:buf.Len()/2])); err == nil {
		t.Fatal("a truncated manifest must be rejected")
	}
}

func TestRestoreRefusesUnsafePathsAndNonEmptyTarget(t *testing.T) {
	m := &Manifest{Version: FormatVersion, ID: "s1", Entries: []Entry{{Path: "../escape", Kind: KindFile}}}
	if err := Restore(context.Background(), m, t.TempDir(), nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unsafe path: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "existing"), nil, 0o644)
	ok := &Manifest{Version: FormatVersion, ID: "s2", Entries: []Entry{{Path: ".", Kind: KindDir}}}
	if err := Restore(context.Background(), ok, dir, nil); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("non-empty target: %v", err)
	}
}
