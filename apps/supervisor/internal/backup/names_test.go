package backup

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// TestNonUTF8NamesRoundTrip backs up names that are not valid UTF-8 (a
// Latin-1 "é", a lone 0xff) to a mount and to S3, and restores them
// byte-for-byte from each (issue 11, defect 1).
func TestNonUTF8NamesRoundTrip(t *testing.T) {
	ws := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(ws, "caf\xe9.txt"), []byte("latin-1 name\n"), 0o644))
	must(os.WriteFile(filepath.Join(ws, "\xff"), nil, 0o600))
	must(os.Mkdir(filepath.Join(ws, "r\xe9pertoire"), 0o750))
	must(os.WriteFile(filepath.Join(ws, "r\xe9pertoire", "na\xefve \x80\x81"), []byte("inside"), 0o640))
	must(os.Symlink("caf\xe9.txt", filepath.Join(ws, "lien-\xe9")))
	must(os.WriteFile(filepath.Join(ws, "valid-ünïcødé"), []byte("utf-8 name"), 0o644))
	s3t, _ := testutil.S3Target(t, 10*time.Second)
	for _, tg := range []store.Store{&store.Local{Dir: t.TempDir()}, s3t} {
		t.Run(tg.Name(), func(t *testing.T) {
			r := mustBackup(t, newTestEngine(t, ws, tg))
			restoreEqual(t, tg, r.Snapshot, ws)
		})
	}
}
