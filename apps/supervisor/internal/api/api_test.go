package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dev8/images/apps/supervisor/internal/activity"
	"github.com/dev8/images/apps/supervisor/internal/backup"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

func newServer(t *testing.T, token string, eng Backuper) *httptest.Server {
	t.Helper()
	act := func() activity.State { return activity.State{Connections: map[string]int{"ssh": 1}, IdleSeconds: 3} }
	s := &Server{Version: "1.2.3", Token: token, Engine: eng, Activity: act, BaseCtx: context.Background()}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	return testutil.Do(t, method, url, token)
}

func TestEndpoints(t *testing.T) {
	eng := backup.New(backup.Options{Workspace: t.TempDir(), StateDir: t.TempDir(),
		Targets: []store.Store{&store.Local{Dir: t.TempDir()}}})
	t.Cleanup(func() { eng.Backup(context.Background(), "drain") }) // wait for the async run
	tests := []struct {
		name, method, path, token string
		serverToken               string
		wantCode                  int
		wantBody                  string
	}{
		{"healthz", "GET", "/healthz", "", "", 200, `"ok"`},
		{"readyz", "GET", "/readyz", "", "", 200, `"ready"`},
		{"status", "GET", "/v1/status", "", "", 200, `"version": "1.2.3"`},
		{"status has targets", "GET", "/v1/status", "", "", 200, `"name": "mount"`},
		{"metrics", "GET", "/metrics", "", "", 200, `workspace_supervisor_connections{service="ssh"} 1`},
		{"backup", "POST", "/v1/backup", "", "", 200, `"snapshot":`},
		{"async backup", "POST", "/v1/backup?wait=false", "", "", 202, `"run_id"`},
		{"wrong method", "GET", "/v1/backup", "", "", 405, ""},
		{"healthz open with token", "GET", "/healthz", "", "s3cret", 200, `"ok"`},
		{"status needs token", "GET", "/v1/status", "", "s3cret", 401, "bearer token"},
		{"status wrong token", "GET", "/v1/status", "nope", "s3cret", 401, "bearer token"},
		{"status right token", "GET", "/v1/status", "s3cret", "s3cret", 200, `"version"`},
		{"metrics need token", "GET", "/metrics", "", "s3cret", 401, ""},
		{"backup needs token", "POST", "/v1/backup", "", "s3cret", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.serverToken, eng)
			code, body := do(t, tc.method, srv.URL+tc.path, tc.token)
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("%s %s = %d %s", tc.method, tc.path, code, body)
			}
			if strings.Contains(body, "s3cret") {
				t.Fatal("token leaked in response")
			}
		})
	}
}

func TestAsyncBackupCanBePolled(t *testing.T) {
	eng := backup.New(backup.Options{Workspace: t.TempDir(), StateDir: t.TempDir(),
		Targets: []store.Store{&store.Local{Dir: t.TempDir()}}})
	srv := newServer(t, "", eng)
	_, body := do(t, "POST", srv.URL+"/v1/backup?wait=false", "")
	var started struct{ Poll string }
	json.Unmarshal([]byte(body), &started)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		code, body := do(t, "GET", srv.URL+started.Poll, "")
		if code == 200 {
			if !strings.Contains(body, `"snapshot"`) {
				t.Fatalf("finished run lacks its snapshot: %s", body)
			}
			return
		}
		if code != 202 {
			t.Fatalf("poll = %d %s", code, body)
		}
	}
	t.Fatal("async backup never finished")
}

// TestDiskFullIsReported fills a 2 MB tmpfs backup mount: the backup fails,
// /v1/status names the error, nothing partial is left, and the server
// keeps serving.
func TestDiskFullIsReported(t *testing.T) {
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v); this test needs root", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	ws := t.TempDir()
	big := make([]byte, 4<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(ws, "incompressible.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	eng := backup.New(backup.Options{Workspace: ws, StateDir: t.TempDir(), Targets: []store.Store{&store.Local{Dir: mnt}}})
	srv := newServer(t, "", eng)

	code, body := do(t, "POST", srv.URL+"/v1/backup", "")
	if code != 500 || !strings.Contains(body, "no space left on device") {
		t.Fatalf("backup = %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/v1/status", "")
	var st StatusBody
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
		t.Fatalf("status = %d %s", code, body)
	}
	if !strings.Contains(st.Backup.LastError, "no space left on device") || st.Backup.Targets[0].State != "error" {
		t.Fatalf("status does not report disk full: %s", body)
	}
	var left []string
	filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("partial files left on the full mount: %v", left)
	}
	if code, _ := do(t, "GET", srv.URL+"/healthz", ""); code != 200 {
		t.Fatal("server stopped answering")
	}
}
