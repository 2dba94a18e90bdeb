package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// TestRestoreSurvivesDroppedConnection: the connection carrying an archive
// from S3 or Azure drops in the middle; the restore carries on and
// succeeds. When the backend stays away, the error names a transport
// failure, not a corrupt snapshot, and nothing is left behind (issue 11,
// defect 7).
func TestRestoreSurvivesDroppedConnection(t *testing.T) {
	backends := map[string]func(t *testing.T) (direct, via store.Store, px *testutil.Proxy){
		"s3": func(t *testing.T) (store.Store, store.Store, *testutil.Proxy) {
			s3t, srv := testutil.S3Target(t, 10*time.Second)
			px := testutil.StartProxy(t, srv.Endpoint)
			return s3t, s3Via(px.Endpoint, time.Second, 3), px
		},
		"azure": func(t *testing.T) (store.Store, store.Store, *testutil.Proxy) {
			azt, srv := testutil.AzureTarget(t, 10*time.Second)
			px := testutil.StartProxy(t, srv.Endpoint)
			return azt, azureVia(t, px.Endpoint, time.Second, 3), px
		},
	}
	for name, setup := range backends {
		t.Run(name, func(t *testing.T) {
			direct, via, px := setup(t)
			ws := randomTree(t, 8<<20)
			r := mustBackup(t, newTestEngine(t, ws, direct))

			px.DropAfter(3<<20, false)
			restoreEqual(t, via, r.Snapshot, ws)

			px.DropAfter(3<<20, true)
			dst := filepath.Join(t.TempDir(), "restored")
			_, _, err := Restore(context.Background(), via, r.Snapshot, dst, snapshot.RestoreOptions{})
			if !errors.Is(err, snapshot.ErrTransport) || errors.Is(err, snapshot.ErrCorrupt) || !strings.Contains(err.Error(), "reading archive") {
				t.Fatalf("a connection lost for good in the middle of an archive must be named as such, not as corruption: %v", err)
			}
			if left, _ := os.ReadDir(dst); len(left) != 0 {
				t.Fatalf("the failed restore left %v", left)
			}
			t.Logf("restore with the backend gone: %v", err)
		})
	}
}
