package backup

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
)

// plan fills in, for each file of entries whose content every target in
// need already holds (same metadata, same archive, intact), its checksum
// and archive, and returns the indexes of the files to read.
func plan(entries []snapshot.Entry, need []*target) (toRead []int) {
	for i := range entries {
		e := &entries[i]
		if !e.NeedsContent() {
			continue
		}
		if ref := reusable(e, need); ref != nil {
			e.XXH3, e.SHA256, e.Archive = ref.XXH3, ref.SHA256, ref.Archive
			continue
		}
		toRead = append(toRead, i)
	}
	return toRead
}

func reusable(e *snapshot.Entry, need []*target) *snapshot.Entry {
	var ref *snapshot.Entry
	for _, t := range need {
		if t.base == nil {
			return nil
		}
		o := t.lookup(e.Path)
		if o == nil || !o.SameMeta(*e) || o.Inconsistent || !t.usable[o.Archive] {
			return nil
		}
		if ref != nil && (ref.Archive != o.Archive || !ref.SameContent(*o)) {
			return nil
		}
		ref = o
	}
	return ref
}

// newSnapshotID returns an ID newer than every base in need, even if the
// clock went back.
func (e *Engine) newSnapshotID(need []*target) string {
	id := newID(e.opt.Now())
	for _, t := range need {
		if t.kept.id != "" && id <= t.kept.id {
			at, _ := snapshotTime(t.kept.id)
			id = newID(at.Add(time.Microsecond))
		}
	}
	return id
}

// build reads what the targets in need lack into a spooled archive and
// returns the new snapshot's manifest. The mount target may drop out when
// the archive cannot be spooled on it (it is recorded as failed), so build
// returns the targets still in the run; the manifest is nil when none is.
func (rs *runState) build(ctx context.Context, need []*target, entries []snapshot.Entry) (*snapshot.Manifest, string, []*target, error) {
	toRead := plan(entries, need)
	id := rs.e.newSnapshotID(need)
	m := &snapshot.Manifest{Version: snapshot.FormatVersion, ID: id, Created: rs.e.opt.Now().Unix(),
		Archives: map[string]snapshot.ArchiveInfo{}}
	spool := ""
	if len(toRead) > 0 {
		start := time.Now()
		res, path, rest, err := rs.spool(ctx, need, id, entries, toRead)
		need = rest
		if err != nil || len(need) == 0 {
			return nil, path, need, err
		}
		spool = path
		rs.r.ArchiveSeconds = time.Since(start).Seconds()
		m.Archives[id] = res.Info
		rs.r.ChangedFiles = len(toRead) - len(res.Skipped)
		for _, i := range slices.Sorted(maps.Keys(res.Skipped)) {
			rs.skipped = append(rs.skipped, snapshot.Skipped{Path: snapshot.Name(entries[i].Path), Reason: res.Skipped[i]})
		}
		entries = dropIndexes(entries, res.Skipped)
	}
	m.Entries = entries
	for _, en := range entries {
		if en.Inconsistent {
			rs.inconsistent = append(rs.inconsistent, snapshot.Name(en.Path))
		}
		if en.Archive == "" || en.Archive == id {
			continue
		}
		for _, t := range need {
			if info, ok := t.kept.archives[en.Archive]; ok {
				m.Archives[en.Archive] = info
				break
			}
		}
	}
	if info, ok := m.Archives[id]; ok {
		if slices.ContainsFunc(entries, func(en snapshot.Entry) bool { return en.Archive == id }) {
			rs.r.ArchiveBytes = info.Size
		} else {
			delete(m.Archives, id) // every file read was left out
		}
	}
	m.Skipped, m.SkippedCount = rs.skipped[:min(len(rs.skipped), snapshot.MaxListed)], len(rs.skipped)
	return m, spool, need, nil
}

// dropIndexes returns entries without the ones at the indexes in drop.
func dropIndexes[V any](entries []snapshot.Entry, drop map[int]V) []snapshot.Entry {
	if len(drop) == 0 {
		return entries
	}
	out := make([]snapshot.Entry, 0, len(entries)-len(drop))
	for i, e := range entries {
		if _, ok := drop[i]; !ok {
			out = append(out, e)
		}
	}
	return out
}
