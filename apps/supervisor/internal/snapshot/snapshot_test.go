package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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
		{"docs/tmp/x", false, true}, // inside an excluded path
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
	entries, _, err := (&Scanner{Root: root}).Scan()
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

func TestArchiveSkipsUnreadableFile(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "locked"), []byte("data"), 0o644)
	os.WriteFile(filepath.Join(root, "open"), []byte("data"), 0o644)
	s := &Scanner{Root: root, FS: failingFS{failOpen: "locked"}}
	entries, _, err := s.Scan()
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	for i, e := range entries {
		if e.NeedsContent() {
			idx = append(idx, i)
		}
	}
	aw := &ArchiveWriter{Root: root, FS: s.FS, Settle: time.Millisecond}
	res, err := aw.Write(context.Background(), io.Discard, "a1", entries, idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[idx[0]] != "permission denied" || entries[idx[1]].Archive != "a1" {
		t.Fatalf("skipped %v, entries %+v", res.Skipped, entries)
	}
}

func TestNameJSON(t *testing.T) {
	for _, name := range []string{"plain", "ünïcødé", "caf\xe9", "\xff\x00x", "quote\"<&>"} {
		b, err := json.Marshal(Entry{Path: name, Link: name})
		if err != nil {
			t.Fatal(err)
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil || e.Path != name || e.Link != name {
			t.Fatalf("%q: %s decoded as %q %q (%v)", name, b, e.Path, e.Link, err)
		}
		if !utf8.ValidString(name) && !strings.Contains(string(b), `"path":{"base64":`) {
			t.Fatalf("%q: not base64 in %s", name, b)
		}
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
	if _, err := Restore(context.Background(), m, t.TempDir(), nil, RestoreOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unsafe path: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "existing"), nil, 0o644)
	ok := &Manifest{Version: FormatVersion, ID: "s2", Entries: []Entry{{Path: ".", Kind: KindDir}}}
	if _, err := Restore(context.Background(), ok, dir, nil, RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("non-empty target: %v", err)
	}
}
