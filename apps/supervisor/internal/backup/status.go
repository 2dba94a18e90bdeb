package backup

import (
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
)

// TargetResult is what one run did on one target.
type TargetResult struct {
	Name      string   `json:"name"`
	Snapshot  string   `json:"snapshot,omitempty"` // written, or the unchanged base
	Unchanged bool     `json:"unchanged,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"` // damage found and worked around
}

// Result describes one backup run.
type Result struct {
	RunID        string `json:"run_id"`
	Reason       string `json:"reason"`
	Snapshot     string `json:"snapshot,omitempty"` // written, or the newest unchanged base
	Unchanged    bool   `json:"unchanged"`
	Files        int    `json:"files"`
	Bytes        int64  `json:"bytes"`
	ChangedFiles int    `json:"changed_files"`
	ArchiveBytes int64  `json:"archive_bytes"`
	// Skipped counts the paths left out because they vanished or could not
	// be read; SkippedFiles names the first snapshot.MaxListed.
	Skipped      int                `json:"skipped"`
	SkippedFiles []snapshot.Skipped `json:"skipped_files,omitempty"`
	// Inconsistent names files that kept changing while they were read.
	Inconsistent    []snapshot.Name `json:"inconsistent,omitempty"`
	Targets         []TargetResult  `json:"targets"`
	ScanSeconds     float64         `json:"scan_seconds"`
	ArchiveSeconds  float64         `json:"archive_seconds"`
	CommitSeconds   float64         `json:"commit_seconds"`
	DurationSeconds float64         `json:"duration_seconds"`
	Started         time.Time       `json:"started"`
	Finished        time.Time       `json:"finished"`
	Error           string          `json:"error,omitempty"`
	Err             error           `json:"-"`
}

// Outcome is "ok", "unchanged" or "failed" (any target failed).
func (r Result) Outcome() string {
	switch {
	case r.Err != nil:
		return "failed"
	case r.Unchanged:
		return "unchanged"
	}
	return "ok"
}

// TargetStatus is the state of one backup target.
type TargetStatus struct {
	Name          string    `json:"name"`
	State         string    `json:"state"` // "unknown", "ok", "error"
	LastSnapshot  string    `json:"last_snapshot,omitempty"`
	LastSuccess   time.Time `json:"last_success,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	Warnings      []string  `json:"warnings,omitempty"` // from the last run
}

// Status is a copy of the engine's state for the API and metrics.
type Status struct {
	Running     bool           `json:"running"`
	Current     string         `json:"current_run,omitempty"`
	Last        *Result        `json:"last,omitempty"`
	LastSuccess time.Time      `json:"last_success,omitzero"`
	LastError   string         `json:"last_error,omitempty"`
	Counts      map[string]int `json:"counts"`
	Targets     []TargetStatus `json:"targets"`
}

// Status returns a snapshot of the engine's state.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.status
	s.Counts = make(map[string]int, len(e.status.Counts))
	for k, v := range e.status.Counts {
		s.Counts[k] = v
	}
	s.Targets = append([]TargetStatus(nil), e.status.Targets...)
	if s.Last != nil {
		last := *s.Last
		s.Last = &last
	}
	return s
}

func (e *Engine) record(r Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status.Running, e.status.Current = false, ""
	e.status.Last = &r
	e.status.Counts[r.Outcome()]++
	if r.Err != nil {
		e.status.LastError = r.Error
	} else {
		e.status.LastSuccess, e.status.LastError = r.Finished, ""
	}
}

// recordTarget sets a target's state after a run: ok with the snapshot it
// holds, or error.
func (e *Engine) recordTarget(name, id string, err error, warnings []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.status.Targets {
		t := &e.status.Targets[i]
		if t.Name != name {
			continue
		}
		t.Warnings = warnings
		if err != nil {
			t.State, t.LastError, t.LastErrorTime = "error", err.Error(), e.opt.Now()
			continue
		}
		t.State, t.LastSnapshot, t.LastSuccess, t.LastError = "ok", id, e.opt.Now(), ""
	}
}
