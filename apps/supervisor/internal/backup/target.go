package backup

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// target is the engine's view of one store, refreshed at every run.
type target struct {
	store store.Store
	kept  keptBase // what is known of the newest snapshot on the target, kept between runs
	// base is that snapshot's manifest, decoded during a run only when it
	// is needed (the workspace changed), then dropped: the daemon idles
	// between backups.
	base     *snapshot.Manifest
	archives map[string]store.Object // archive ID -> object, as listed this run
	usable   map[string]bool         // archives of the base that are present and intact
	verified map[string]verification // archive ID -> its last good check
}

// keptBase summarises a snapshot: enough to tell that nothing changed
// since, without its manifest.
type keptBase struct {
	id           string
	digest       [32]byte // snapshot.MetaDigest of its entries
	archives     map[string]snapshot.ArchiveInfo
	inconsistent bool // it holds a file that was changing while read
}

func keep(m *snapshot.Manifest) keptBase {
	k := keptBase{id: m.ID, digest: snapshot.MetaDigest(m.Entries), archives: m.Archives}
	for _, e := range m.Entries {
		k.inconsistent = k.inconsistent || e.Inconsistent
	}
	return k
}

// verification records that an archive was read back intact.
type verification struct {
	version string
	at      time.Time
}

func (t *target) name() string { return t.store.Name() }

// lookup finds path in the base's entries (sorted by path).
func (t *target) lookup(path string) *snapshot.Entry {
	es := t.base.Entries
	i := sort.Search(len(es), func(i int) bool { return es[i].Path >= path })
	if i < len(es) && es[i].Path == path {
		return &es[i]
	}
	return nil
}

// upToDate reports whether the target's newest snapshot holds exactly the
// entries of this digest, all of it restorable.
func (t *target) upToDate(digest [32]byte) bool {
	if t.kept.id == "" || t.kept.inconsistent || t.kept.digest != digest {
		return false
	}
	for id := range t.kept.archives {
		if !t.usable[id] {
			return false
		}
	}
	return true
}

// prepareAll refreshes every target in parallel; the ones that fail are
// recorded and left out of this run.
func (rs *runState) prepareAll(ctx context.Context) []*target {
	rs.bases = map[string]*snapshot.Manifest{}
	errs := make([]error, len(rs.e.targets))
	var wg sync.WaitGroup
	for i, t := range rs.e.targets {
		wg.Go(func() { errs[i] = rs.prepare(ctx, t) })
	}
	wg.Wait()
	var ready []*target
	for i, t := range rs.e.targets {
		if errs[i] != nil {
			rs.fail(t, errs[i])
		} else {
			ready = append(ready, t)
		}
	}
	return ready
}

// prepare aborts stale uploads, lists the target, reads its newest
// snapshot if that is not the one it knows, and checks the archives that
// snapshot uses.
func (rs *runState) prepare(ctx context.Context, t *target) error {
	if c, ok := t.store.(store.UploadCleaner); ok {
		if n, err := c.AbortStaleUploads(ctx, archivePrefix, time.Now()); err != nil {
			rs.log.Warn("cannot abort stale uploads", "target", t.name(), "error", err.Error())
		} else if n > 0 {
			rs.log.Info("aborted stale uploads", "target", t.name(), "count", n)
		}
	}
	manifests, err := t.store.List(ctx, manifestPrefix)
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	archives, err := t.store.List(ctx, archivePrefix)
	if err != nil {
		return fmt.Errorf("list archives: %w", err)
	}
	t.archives = map[string]store.Object{}
	for _, o := range archives {
		if id, ok := idFromKey(o.Key, archivePrefix, archiveSuffix); ok {
			t.archives[id] = o
		}
	}
	ids := idsFromObjects(manifests, manifestPrefix, manifestSuffix)
	switch {
	case len(ids) == 0:
		t.kept = keptBase{}
	case ids[len(ids)-1] != t.kept.id:
		t.kept = keptBase{}
		if t.base = rs.loadBase(ctx, t, ids[len(ids)-1]); t.base != nil {
			t.kept = keep(t.base)
		}
	}
	return rs.checkArchives(ctx, t)
}

// loadBase reads snapshot id from t, or shares it with a target that
// already read it in this run. A snapshot that cannot be read makes the
// target's next snapshot a full one.
func (rs *runState) loadBase(ctx context.Context, t *target, id string) *snapshot.Manifest {
	rs.baseMu.Lock() // one load at a time, so that targets share what another loaded
	defer rs.baseMu.Unlock()
	if m, ok := rs.bases[id]; ok {
		return m
	}
	m, err := loadManifest(ctx, t.store, id)
	if err != nil {
		rs.warn(t, fmt.Sprintf("cannot read snapshot %s (%v); the next snapshot will be a full one", id, err))
		return nil
	}
	rs.bases[id] = m
	return m
}

// ensureBase decodes the target's newest snapshot for planning, unless
// prepare already did.
func (rs *runState) ensureBase(ctx context.Context, t *target) {
	if t.base == nil && t.kept.id != "" {
		if t.base = rs.loadBase(ctx, t, t.kept.id); t.base == nil {
			t.kept = keptBase{}
		}
	}
}

// checkArchives decides which archives of the base the next snapshot may
// reuse: present, of the right size, and read back intact (see
// Options.VerifyInterval). Damage is reported; the files that lived in a
// damaged archive are read again. An archive that cannot be read for
// want of a connection fails the target for this run.
func (rs *runState) checkArchives(ctx context.Context, t *target) error {
	t.usable = map[string]bool{}
	for id, info := range t.kept.archives {
		obj, ok := t.archives[id]
		switch {
		case !ok:
			rs.warn(t, fmt.Sprintf("archive %s of snapshot %s is missing; its files are archived again", id, t.kept.id))
			continue
		case obj.Size != info.Size:
			rs.warn(t, fmt.Sprintf("archive %s has %d bytes, snapshot %s says %d; its files are archived again",
				id, obj.Size, t.kept.id, info.Size))
			continue
		}
		if rs.e.mustVerify(t, id, obj) {
			damage, err := verifyArchive(ctx, t.store, id, info)
			if err != nil {
				return fmt.Errorf("check archive %s: %w", id, err)
			}
			if damage != nil {
				rs.warn(t, fmt.Sprintf("archive %s is damaged (%v): snapshots up to %s cannot be fully restored; its files are archived again",
					id, damage, t.kept.id))
				continue
			}
		}
		t.verified[id] = verification{version: obj.Version, at: rs.e.opt.Now()}
		t.usable[id] = true
	}
	return nil
}

// mustVerify says whether an archive is to be read back now.
func (e *Engine) mustVerify(t *target, id string, obj store.Object) bool {
	v, seen := t.verified[id]
	switch {
	case seen && v.version != obj.Version:
		return true
	case e.opt.VerifyInterval <= 0:
		return false
	}
	return !seen || e.opt.Now().Sub(v.at) >= e.opt.VerifyInterval
}

// needing records the targets whose newest snapshot already holds entries
// as unchanged and returns the others, with their base decoded.
func (rs *runState) needing(ctx context.Context, ts []*target, entries []snapshot.Entry) []*target {
	digest := snapshot.MetaDigest(entries)
	var need []*target
	for _, t := range ts {
		if t.upToDate(digest) {
			rs.unchanged(t)
			continue
		}
		rs.ensureBase(ctx, t)
		need = append(need, t)
	}
	return need
}
