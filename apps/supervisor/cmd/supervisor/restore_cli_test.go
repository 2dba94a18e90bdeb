package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dev8/images/apps/supervisor/internal/backup"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// backupTo backs ws up once to a fresh mount directory and returns it.
func backupTo(t *testing.T, ws, mount string) {
	t.Helper()
	e := backup.New(backup.Options{Workspace: ws, StateDir: t.TempDir(), KeepLast: 5, Targets: []store.Store{&store.Local{Dir: mount}}})
	if r := e.Backup(context.Background(), "test"); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// TestRestoreRejectsPathsAsSnapshotIDs: --snapshot takes snapshot IDs only;
// "../../x" must not read a manifest outside the target (issue 11, defect 7).
func TestRestoreRejectsPathsAsSnapshotIDs(t *testing.T) {
	ws, base := t.TempDir(), t.TempDir()
	must(t, os.WriteFile(filepath.Join(ws, "f"), []byte("data"), 0o644))
	mount := filepath.Join(base, "mount")
	must(t, os.Mkdir(mount, 0o755))
	backupTo(t, ws, mount)
	manifests, _ := filepath.Glob(filepath.Join(mount, "snapshots", "*"))
	data, err := os.ReadFile(manifests[0])
	must(t, err)
	// snapshots/../../x.json.zst is base/x.json.zst, outside the mount.
	must(t, os.WriteFile(filepath.Join(base, "x.json.zst"), data, 0o644))
	var out bytes.Buffer
	dst := filepath.Join(t.TempDir(), "restored")
	code := run([]string{"restore", "--snapshot", "../../x", "--target", dst}, mountEnv(mount), &out, &out)
	if code != 2 || !strings.Contains(out.String(), "--snapshot") {
		t.Fatalf("--snapshot ../../x: exit %d\n%s", code, out.String())
	}
	if left, _ := os.ReadDir(dst); len(left) != 0 {
		t.Fatalf("restored %v from a manifest outside the target", left)
	}
}

// TestRestoreSkipCorrupt: one damaged byte in the big archive fails the
// default restore (nothing left behind); --skip-corrupt restores every
// intact file, lists the lost ones and exits 3 (issue 11, defect 7).
func TestRestoreSkipCorrupt(t *testing.T) {
	ws, mount := t.TempDir(), t.TempDir()
	const n = 4000
	buf := make([]byte, 4096)
	for i := range n {
		rand.Read(buf)
		dir := filepath.Join(ws, fmt.Sprintf("d%02d", i%40))
		must(t, os.MkdirAll(dir, 0o755))
		must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), buf, 0o644))
	}
	backupTo(t, ws, mount)
	archives, _ := filepath.Glob(filepath.Join(mount, "archives", "*"))
	testutil.FlipByte(t, archives[0])

	var out bytes.Buffer
	dst := filepath.Join(t.TempDir(), "restored")
	if code := run([]string{"restore", "--target", dst}, mountEnv(mount), &out, &out); code != 1 {
		t.Fatalf("default restore of a damaged snapshot: exit %d\n%s", code, out.String())
	}
	if left, _ := os.ReadDir(dst); len(left) != 0 {
		t.Fatalf("the default restore left %v", left)
	}
	out.Reset()
	dst = filepath.Join(t.TempDir(), "restored")
	code := run([]string{"restore", "--skip-corrupt", "--target", dst}, mountEnv(mount), &out, &out)
	if code != 3 {
		t.Fatalf("--skip-corrupt: exit %d, want 3\n%s", code, out.String())
	}
	want, got := testutil.Snapshot(t, ws), testutil.Snapshot(t, dst)
	lost := 0
	for p, desc := range want {
		g, ok := got[p]
		switch {
		case !ok:
			lost++
			if !strings.Contains(out.String(), p) {
				t.Errorf("%s was not restored and is not listed", p)
			}
		case g != desc:
			t.Errorf("%s restored wrong:\n want %.120s\n got  %.120s", p, desc, g)
		}
	}
	if lost == 0 || lost > n/4 {
		t.Fatalf("%d of %d files lost to one damaged byte", lost, n)
	}
	t.Logf("one damaged byte lost %d of %d files", lost, n)
}
