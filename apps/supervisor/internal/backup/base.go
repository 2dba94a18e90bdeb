package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// loadBase finds, once, the newest snapshot present on every target that
// answers; later backups only read and store what changed since it. A target
// that did not answer is checked for the archives it needs at commit time.
func (e *Engine) loadBase(ctx context.Context, log *slog.Logger) error {
	e.mu.Lock()
	loaded := e.loaded
	e.mu.Unlock()
	if loaded {
		return nil
	}
	var common []string
	var from store.Store
	answered := 0
	var errs []error
	for _, t := range e.opt.Targets {
		keys, err := t.List(ctx, manifestPrefix)
		if err != nil {
			log.Warn("cannot list snapshots", "target", t.Name(), "error", err.Error())
			errs = append(errs, fmt.Errorf("target %s: %w", t.Name(), err))
			continue
		}
		ids := idsFromKeys(keys, manifestPrefix, manifestSuffix)
		if len(ids) > 0 {
			e.setLastOn(t.Name(), ids[len(ids)-1])
		}
		if answered == 0 {
			common, from = ids, t
		} else {
			common = slices.DeleteFunc(common, func(id string) bool { return !slices.Contains(ids, id) })
		}
		answered++
	}
	if answered == 0 {
		return fmt.Errorf("no backup target answered: %w", errors.Join(errs...))
	}
	var base *snapshot.Manifest
	if len(common) > 0 {
		id := common[len(common)-1]
		m, err := loadManifest(ctx, from, id)
		if err != nil {
			log.Warn("cannot read the latest snapshot; taking a full backup", "snapshot", id, "error", err.Error())
		} else {
			base = m
		}
	}
	e.mu.Lock()
	e.base, e.loaded = base, true
	e.mu.Unlock()
	return nil
}

func (e *Engine) setLastOn(name, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastOn[name] = id
}
