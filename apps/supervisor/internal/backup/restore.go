package backup

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// ListSnapshots returns the IDs of the committed snapshots on t, oldest first.
func ListSnapshots(ctx context.Context, t store.Store) ([]string, error) {
	objs, err := t.List(ctx, manifestPrefix)
	if err != nil {
		return nil, err
	}
	return idsFromObjects(objs, manifestPrefix, manifestSuffix), nil
}

// Restore restores snapshot id ("latest" or "" for the newest) from t into
// target, verifying every checksum before anything is moved into place.
// id must be a snapshot ID listed on t.
func Restore(ctx context.Context, t store.Store, id, target string, opt snapshot.RestoreOptions) (*snapshot.Manifest, snapshot.RestoreReport, error) {
	var rep snapshot.RestoreReport
	if id != "" && id != "latest" && !ValidID(id) {
		return nil, rep, fmt.Errorf("%q is not a snapshot ID", id)
	}
	ids, err := ListSnapshots(ctx, t)
	if err != nil {
		return nil, rep, fmt.Errorf("list snapshots on %s: %w", t.Name(), err)
	}
	switch {
	case len(ids) == 0:
		return nil, rep, fmt.Errorf("no snapshot on target %s", t.Name())
	case id == "" || id == "latest":
		id = ids[len(ids)-1]
	case !slices.Contains(ids, id):
		return nil, rep, fmt.Errorf("snapshot %s is not on target %s (newest: %s)", id, t.Name(), ids[len(ids)-1])
	}
	m, err := loadManifest(ctx, t, id)
	if err != nil {
		return nil, rep, fmt.Errorf("read snapshot %s on %s: %w", id, t.Name(), err)
	}
	open := func(ctx context.Context, archive string) (io.ReadCloser, error) {
		return t.Get(ctx, archiveKey(archive))
	}
	rep, err = snapshot.Restore(ctx, m, target, open, opt)
	return m, rep, err
}
