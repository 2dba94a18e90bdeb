package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/backup"
	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// blockingFS holds the archiver on one file until release is closed.
type blockingFS struct {
	snapshot.OSFS
	opened  chan struct{}
	release chan struct{}
}

func (b blockingFS) Open(name string) (io.ReadCloser, error) {
	if filepath.Base(name) == "slow.txt" {
		select {
		case b.opened <- struct{}{}:
		default:
		}
		<-b.release
	}
	return b.OSFS.Open(name)
}

// TestClientDisconnectDoesNotCancelBackup: a client that disconnects from
// POST /v1/backup does not cancel the backup; a synchronous POST answers
// with the run ID, which can be polled (issue 11, defect 8).
func TestClientDisconnectDoesNotCancelBackup(t *testing.T) {
	ws := t.TempDir()
	os.WriteFile(filepath.Join(ws, "slow.txt"), []byte("read slowly"), 0o644)
	fs := blockingFS{opened: make(chan struct{}, 1), release: make(chan struct{})}
	mount := &store.Local{Dir: t.TempDir()}
	eng := backup.New(backup.Options{Workspace: ws, StateDir: t.TempDir(), Targets: []store.Store{mount}, FS: fs})
	srv := newServer(t, "", eng)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/backup", nil)
	go http.DefaultClient.Do(req)
	select {
	case <-fs.opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the backup never reached the file")
	}
	cancel()
	time.Sleep(300 * time.Millisecond) // let the server see the connection close
	close(fs.release)
	for deadline := time.Now().Add(10 * time.Second); eng.Status().Running || eng.Status().Last == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the backup did not finish")
		}
	}
	if last := eng.Status().Last; last.Err != nil || last.Snapshot == "" {
		t.Fatalf("the client's disconnect cancelled the backup: %+v", last)
	}

	code, body := do(t, "POST", srv.URL+"/v1/backup", "")
	var res struct {
		RunID string `json:"run_id"`
	}
	if json.Unmarshal([]byte(body), &res); code != 200 || res.RunID == "" {
		t.Fatalf("POST /v1/backup = %d %s", code, body)
	}
	if code, body := do(t, "GET", srv.URL+"/v1/backups/"+res.RunID, ""); code != 200 {
		t.Fatalf("GET /v1/backups/%s = %d %s", res.RunID, code, body)
	}
}
