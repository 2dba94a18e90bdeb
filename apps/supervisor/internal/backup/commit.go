package backup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// staleTemp is the age after which a target's temporary file is taken to be
// left over from a killed process.
const staleTemp = time.Hour

// commitAll writes the snapshot to every target in need, in parallel, and
// prunes each one that took it.
func (rs *runState) commitAll(ctx context.Context, need []*target, m *snapshot.Manifest, spool string) {
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		for _, t := range need {
			rs.fail(t, fmt.Errorf("encode manifest: %w", err))
		}
		return
	}
	errs := make([]error, len(need))
	var wg sync.WaitGroup
	for i, t := range need {
		wg.Go(func() {
			if errs[i] = rs.commitTo(ctx, t, m, spool, buf.Bytes()); errs[i] == nil {
				if err := rs.e.prune(ctx, t, m.ID); err != nil {
					rs.log.Warn("retention failed", "target", t.name(), "error", err.Error())
				}
			}
		})
	}
	wg.Wait()
	for i, t := range need {
		if errs[i] != nil {
			rs.fail(t, errs[i])
		} else {
			rs.committed(t, m.ID)
		}
	}
}

// commitTo uploads the new archive, checks that the target holds every
// archive the manifest references, then writes the manifest last: the
// commit point. A snapshot is listed only once its manifest exists.
func (rs *runState) commitTo(ctx context.Context, t *target, m *snapshot.Manifest, spool string, manifest []byte) error {
	if info, ok := m.Archives[m.ID]; ok {
		obj, err := t.store.PutFile(ctx, archiveKey(m.ID), spool)
		if err != nil {
			return fmt.Errorf("upload archive: %w", err)
		}
		if obj.Size != info.Size {
			return fmt.Errorf("upload archive: stored %d bytes, expected %d", obj.Size, info.Size)
		}
		t.archives[m.ID] = obj
		t.verified[m.ID] = verification{version: obj.Version, at: rs.e.opt.Now()}
	}
	for id, info := range m.Archives {
		if obj, ok := t.archives[id]; !ok || obj.Size != info.Size {
			return fmt.Errorf("the target lacks archive %s that the snapshot needs", id)
		}
	}
	if err := t.store.PutBytes(ctx, manifestKey(m.ID), manifest); err != nil {
		return fmt.Errorf("upload manifest: %w", err)
	}
	t.base, t.kept = m, keep(m)
	t.usable = map[string]bool{}
	ids := make([]string, 0, len(m.Archives))
	for id := range m.Archives {
		t.usable[id] = true
		ids = append(ids, id)
	}
	rs.e.mu.Lock()
	rs.e.archCache[m.ID] = ids // retention needs them; no need to read the manifest back
	rs.e.mu.Unlock()
	return nil
}

// prune deletes the target's snapshots the retention policy drops (never
// keep, the one just written), then every archive no remaining snapshot
// references (including orphans of interrupted backups).
func (e *Engine) prune(ctx context.Context, t *target, keep string) error {
	objs, err := t.store.List(ctx, manifestPrefix)
	if err != nil {
		return err
	}
	ids := idsFromObjects(objs, manifestPrefix, manifestSuffix)
	drop := Select(ids, e.opt.KeepLast, e.opt.KeepDaily, keep)
	dropped := map[string]bool{}
	for _, id := range drop {
		if err := t.store.Delete(ctx, manifestKey(id)); err != nil {
			return err
		}
		dropped[id] = true
	}
	used := map[string]bool{}
	for _, id := range ids {
		if dropped[id] {
			continue
		}
		archives, err := e.archivesOf(ctx, t.store, id)
		if err != nil {
			return fmt.Errorf("read snapshot %s: %w", id, err)
		}
		for _, a := range archives {
			used[a] = true
		}
	}
	if sw, ok := t.store.(store.Sweeper); ok {
		if err := sw.SweepTemp(staleTemp); err != nil {
			return err
		}
	}
	aobjs, err := t.store.List(ctx, archivePrefix)
	if err != nil {
		return err
	}
	for _, id := range idsFromObjects(aobjs, archivePrefix, archiveSuffix) {
		if !used[id] {
			if err := t.store.Delete(ctx, archiveKey(id)); err != nil {
				return err
			}
			delete(t.archives, id)
		}
	}
	return nil
}

// loadManifest fetches and decodes one snapshot's manifest.
func loadManifest(ctx context.Context, t store.Store, id string) (*snapshot.Manifest, error) {
	b, err := loadManifestBytes(ctx, t, id)
	if err != nil {
		return nil, err
	}
	return snapshot.DecodeManifest(bytes.NewReader(b))
}

// loadManifestBytes fetches one snapshot's manifest as stored.
func loadManifestBytes(ctx context.Context, t store.Store, id string) ([]byte, error) {
	rc, err := t.Get(ctx, manifestKey(id))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// archivesOf returns the archive IDs a snapshot references, cached: a
// snapshot ID names the same manifest on every target.
func (e *Engine) archivesOf(ctx context.Context, t store.Store, id string) ([]string, error) {
	e.mu.Lock()
	cached, ok := e.archCache[id]
	e.mu.Unlock()
	if ok {
		return cached, nil
	}
	m, err := loadManifest(ctx, t, id)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(m.Archives))
	for a := range m.Archives {
		ids = append(ids, a)
	}
	e.mu.Lock()
	e.archCache[id] = ids
	e.mu.Unlock()
	return ids, nil
}
