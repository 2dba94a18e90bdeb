// Package testutil builds workspace fixtures and compares trees in tests.
package testutil

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// MakeTree fills dir with n small files spread over nested directories,
// plus the awkward cases: modes, symlinks (valid and dangling), empty
// directories and files, non-ASCII names and a setgid directory.
func MakeTree(t testing.TB, dir string, n int) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%37), fmt.Sprintf("e%d", i%5))
		must(os.MkdirAll(sub, 0o755))
		must(os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o644))
	}
	must(os.MkdirAll(filepath.Join(dir, "empty", "nested-empty"), 0o750))
	must(os.WriteFile(filepath.Join(dir, "empty-file"), nil, 0o600))
	must(os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "ünïcødé 文件 🚀.md"), []byte("non-ascii name\n"), 0o640))
	must(os.MkdirAll(filepath.Join(dir, "répertoire"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "répertoire", "naïve"), bytes.Repeat([]byte("x"), 70000), 0o600))
	must(os.Symlink("run.sh", filepath.Join(dir, "link-to-run")))
	must(os.Symlink("../nowhere/dangling", filepath.Join(dir, "dangling-link")))
	must(os.Symlink("répertoire", filepath.Join(dir, "dir-link")))
	must(os.Mkdir(filepath.Join(dir, "shared"), 0o755))
	must(os.Chmod(filepath.Join(dir, "shared"), 0o2775))
	must(os.MkdirAll(filepath.Join(dir, "node_modules", ".cache"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "node_modules", ".cache", "junk"), []byte("cache"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "node_modules", "kept.js"), []byte("module"), 0o644))
	old := time.Date(2020, 2, 29, 12, 0, 0, 123456789, time.UTC)
	must(os.Chtimes(filepath.Join(dir, "run.sh"), old, old))
}

// Snapshot describes a tree for comparison: path -> type, mode, owner,
// mtime, link target and content.
func Snapshot(t testing.TB, dir string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if rel == s {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%s uid=%d gid=%d", info.Mode(), st.Uid, st.Gid)
		desc += " mtime=" + info.ModTime().UTC().Format(time.RFC3339Nano)
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %q", data)
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Equal fails the test with the first differences between two snapshots.
func Equal(t testing.TB, want, got map[string]string) {
	t.Helper()
	bad := 0
	for p, w := range want {
		if g, ok := got[p]; !ok || g != w {
			bad++
			if bad <= 5 {
				t.Errorf("%s:\n want %.200s\n got  %.200s", p, w, g)
			}
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			bad++
			if bad <= 5 {
				t.Errorf("%s: unexpected in restored tree", p)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d differences", bad)
	}
}
