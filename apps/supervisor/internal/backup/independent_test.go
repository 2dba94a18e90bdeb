package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// TestOutageOnOneTargetKeepsHistoryOnTheOther: mount + S3 with keep-last
// 3; S3 goes away after three snapshots; a change is backed up once to the
// mount and the following unchanged runs add nothing there, so retention
// keeps the mount's history; when S3 is back it catches up (issue 11,
// defect 5).
func TestOutageOnOneTargetKeepsHistoryOnTheOther(t *testing.T) {
	s3t, srv := testutil.S3Target(t, 10*time.Second)
	px := testutil.StartProxy(t, srv.Endpoint)
	mount := &store.Local{Dir: t.TempDir()}
	ws := t.TempDir()
	e := newTestEngine(t, ws, mount, s3Via(px.Endpoint, time.Second, 2))
	var history []string
	for i := range 3 {
		os.WriteFile(filepath.Join(ws, "f"), []byte(fmt.Sprint("v", i+1)), 0o644)
		history = append(history, mustBackup(t, e).Snapshot)
	}
	px.Down(true)
	os.WriteFile(filepath.Join(ws, "f"), []byte("v4"), 0o644)
	r := e.Backup(context.Background(), "test")
	if r.Err == nil {
		t.Fatal("a backup with S3 down should report the failure")
	}
	ids, _ := ListSnapshots(context.Background(), mount)
	if len(ids) != 3 || ids[2] <= history[2] {
		t.Fatalf("the change should be on the mount: %v", ids)
	}
	history = append(history[1:], ids[2])
	for i := range 4 {
		e.Backup(context.Background(), "test")
		ids, _ := ListSnapshots(context.Background(), mount)
		if !slices.Equal(ids, history) {
			t.Fatalf("unchanged run %d with S3 down changed the mount's snapshots: %v, want %v", i+1, ids, history)
		}
	}
	px.Down(false)
	mustBackup(t, e)
	restoreEqual(t, s3t, "latest", ws)
	restoreEqual(t, mount, "latest", ws)
}

// TestTargetDownAtStartReportsError: a target that does not answer at the
// first backup shows state error and its last_error (issue 11, defect 8).
func TestTargetDownAtStartReportsError(t *testing.T) {
	_, srv := testutil.S3Target(t, 10*time.Second)
	px := testutil.StartProxy(t, srv.Endpoint)
	px.Down(true)
	e := newTestEngine(t, randomTree(t, 100), s3Via(px.Endpoint, time.Second, 2))
	if r := e.Backup(context.Background(), "test"); r.Err == nil {
		t.Fatal("a backup to a target that is down succeeded")
	}
	st := e.Status()
	if st.Targets[0].State != "error" || st.Targets[0].LastError == "" {
		t.Fatalf("target down at start: %s", jsonOf(t, st.Targets))
	}
}
