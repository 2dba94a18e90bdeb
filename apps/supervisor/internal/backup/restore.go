package backup

import (
	"context"
	"fmt"
	"io"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// ListSnapshots returns the IDs of the committed snapshots on t, oldest first.
func ListSnapshots(ctx context.Context, t store.Store) ([]string, error) {
	keys, err := t.List(ctx, manifestPrefix)
	if err != nil {
		return nil, err
	}
	return idsFromKeys(keys, manifestPrefix, manifestSuffix), nil
}

// Restore restores snapshot id ("latest" or "" for the newest) from t into
// target, verifying every checksum before anything is moved into place.
func Restore(ctx context.Context, t store.Store, id, target string) (*snapshot.Manifest, error) {
	if id == "" || id == "latest" {
		ids, err := ListSnapshots(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("list snapshots on %s: %w", t.Name(), err)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("no snapshot on target %s", t.Name())
		}
		id = ids[len(ids)-1]
	}
	m, err := loadManifest(ctx, t, id)
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s on %s: %w", id, t.Name(), err)
	}
	open := func(ctx context.Context, archive string) (io.ReadCloser, error) {
		return t.Get(ctx, archiveKey(archive))
	}
	return m, snapshot.Restore(ctx, m, target, open)
}
