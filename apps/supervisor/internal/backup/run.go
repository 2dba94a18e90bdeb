package backup

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
)

// runState carries one backup run: its result, the targets' outcomes and
// the failures so far.
type runState struct {
	e   *Engine
	log *slog.Logger
	r   *Result

	mu       sync.Mutex
	failures []error
	warnings map[*target][]string

	baseMu sync.Mutex
	bases  map[string]*snapshot.Manifest // snapshot ID -> manifest decoded this run

	skipped      []snapshot.Skipped // by the scan and the archiver
	inconsistent []snapshot.Name
}

// warn records a problem on t that does not stop it from taking part.
func (rs *runState) warn(t *target, msg string) {
	rs.log.Error("backup target problem", "target", t.name(), "problem", msg)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.warnings == nil {
		rs.warnings = map[*target][]string{}
	}
	rs.warnings[t] = append(rs.warnings[t], msg)
}

// fail records that t takes no part in the rest of the run.
func (rs *runState) fail(t *target, err error) {
	rs.log.Error("backup target failed", "target", t.name(), "error", err.Error())
	rs.mu.Lock()
	rs.failures = append(rs.failures, fmt.Errorf("target %s: %w", t.name(), err))
	w := rs.warnings[t]
	rs.mu.Unlock()
	rs.r.Targets = append(rs.r.Targets, TargetResult{Name: t.name(), Error: err.Error(), Warnings: w})
	rs.e.recordTarget(t.name(), "", err, w)
}

// unchanged records that t already holds the workspace as it is.
func (rs *runState) unchanged(t *target) {
	id := t.kept.id
	rs.r.Targets = append(rs.r.Targets, TargetResult{Name: t.name(), Snapshot: id, Unchanged: true, Warnings: rs.warnings[t]})
	rs.e.recordTarget(t.name(), id, nil, rs.warnings[t])
	if rs.r.Snapshot == "" || (rs.r.Unchanged && id > rs.r.Snapshot) {
		rs.r.Snapshot, rs.r.Unchanged = id, true
	}
}

// committed records that t now holds snapshot id.
func (rs *runState) committed(t *target, id string) {
	rs.r.Targets = append(rs.r.Targets, TargetResult{Name: t.name(), Snapshot: id, Warnings: rs.warnings[t]})
	rs.e.recordTarget(t.name(), id, nil, rs.warnings[t])
	rs.r.Snapshot, rs.r.Unchanged = id, false
}

// reportSkipped puts the paths left out of the snapshot, and those that
// kept changing, into the result and the log.
func (rs *runState) reportSkipped() {
	rs.r.Skipped = len(rs.skipped)
	rs.r.SkippedFiles = rs.skipped[:min(len(rs.skipped), snapshot.MaxListed)]
	for i, s := range rs.skipped {
		if i == 10 {
			rs.log.Warn("more paths skipped", "count", len(rs.skipped)-i)
			break
		}
		rs.log.Warn("path skipped", "path", s.Path, "reason", s.Reason)
	}
	rs.r.Inconsistent = rs.inconsistent[:min(len(rs.inconsistent), snapshot.MaxListed)]
	if len(rs.inconsistent) > 0 {
		rs.log.Warn("files changed while they were read and are stored as read", "count", len(rs.inconsistent),
			"first", rs.inconsistent[0])
	}
}
