package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// commitAll writes the snapshot to every target in parallel. The snapshot
// becomes the new base only when every target has it.
func (e *Engine) commitAll(ctx context.Context, log *slog.Logger, m *snapshot.Manifest, spool string, base *snapshot.Manifest) error {
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	errs := make([]error, len(e.opt.Targets))
	var wg sync.WaitGroup
	for i, t := range e.opt.Targets {
		wg.Go(func() {
			errs[i] = e.commitTo(ctx, t, m, spool, buf.Bytes())
			e.recordTarget(t.Name(), m.ID, errs[i])
			if errs[i] != nil {
				return
			}
			protect := []string{m.ID}
			if base != nil {
				protect = append(protect, base.ID)
			}
			if err := e.prune(ctx, t, protect); err != nil {
				log.Warn("retention failed", "target", t.Name(), "error", err.Error())
			}
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			errs[i] = fmt.Errorf("target %s: %w", e.opt.Targets[i].Name(), err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if failed == 0 {
		e.base = m
	}
	if failed > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// staleTemp is the age after which a target's temporary file is taken to be
// left over from a killed process.
const staleTemp = time.Hour

// errMissingArchive means a target lacks data the new snapshot references.
var errMissingArchive = errors.New("target lacks an archive the snapshot needs")

// commitTo uploads the archive, checks that every archive the manifest
// references is present, then writes the manifest last: the commit point.
func (e *Engine) commitTo(ctx context.Context, t store.Store, m *snapshot.Manifest, spool string, manifest []byte) error {
	if spool != "" {
		if err := store.PutFile(ctx, t, archiveKey(m.ID), spool, m.Archives[m.ID].Size); err != nil {
			return fmt.Errorf("upload archive: %w", err)
		}
	}
	keys, err := t.List(ctx, archivePrefix)
	if err != nil {
		return fmt.Errorf("list archives: %w", err)
	}
	have := map[string]bool{}
	for _, id := range idsFromKeys(keys, archivePrefix, archiveSuffix) {
		have[id] = true
	}
	for id := range m.Archives {
		if !have[id] {
			e.mu.Lock()
			e.loaded, e.base = true, nil // next backup is a full one
			e.mu.Unlock()
			return fmt.Errorf("%w: %s (the next backup will be a full one)", errMissingArchive, id)
		}
	}
	if err := t.Put(ctx, manifestKey(m.ID), bytes.NewReader(manifest), int64(len(manifest))); err != nil {
		return fmt.Errorf("upload manifest: %w", err)
	}
	return nil
}

// prune deletes the snapshots the retention policy drops, then every
// archive no remaining snapshot references (including orphans of
// interrupted backups).
func (e *Engine) prune(ctx context.Context, t store.Store, protect []string) error {
	keys, err := t.List(ctx, manifestPrefix)
	if err != nil {
		return err
	}
	ids := idsFromKeys(keys, manifestPrefix, manifestSuffix)
	drop := Select(ids, e.opt.KeepLast, e.opt.KeepDaily, protect...)
	dropped := map[string]bool{}
	for _, id := range drop {
		if err := t.Delete(ctx, manifestKey(id)); err != nil {
			return err
		}
		dropped[id] = true
	}
	used := map[string]bool{}
	for _, id := range ids {
		if dropped[id] {
			continue
		}
		archives, err := e.archivesOf(ctx, t, id)
		if err != nil {
			return fmt.Errorf("read snapshot %s: %w", id, err)
		}
		for _, a := range archives {
			used[a] = true
		}
	}
	if sw, ok := t.(store.Sweeper); ok {
		if err := sw.SweepTemp(staleTemp); err != nil {
			return err
		}
	}
	akeys, err := t.List(ctx, archivePrefix)
	if err != nil {
		return err
	}
	for _, id := range idsFromKeys(akeys, archivePrefix, archiveSuffix) {
		if !used[id] {
			if err := t.Delete(ctx, archiveKey(id)); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadManifest fetches and decodes one snapshot's manifest.
func loadManifest(ctx context.Context, t store.Store, id string) (*snapshot.Manifest, error) {
	rc, err := t.Get(ctx, manifestKey(id))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	m, err := snapshot.DecodeManifest(rc)
	if err != nil {
		return nil, store.Permanent(err)
	}
	return m, nil
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
