// Package backup runs snapshots of the workspace to every configured target,
// one at a time, and applies the retention policy. Targets are independent:
// each has its own newest snapshot (its base), is compared, written and
// pruned on its own, and one target's failure never holds back another.
package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// Options configures an Engine.
type Options struct {
	Workspace string
	StateDir  string // the lock file; archives are spooled here when no mount target can take them
	Excludes  []string
	KeepLast  int
	KeepDaily int
	// VerifyInterval: an archive a new snapshot reuses is read back and
	// checked when this process has not checked it yet, when it changed on
	// the target, and when its last check is older than this. 0 checks
	// only archives that changed on the target.
	VerifyInterval time.Duration
	Targets        []store.Store
	FS             snapshot.FS      // nil means the real filesystem
	Now            func() time.Time // nil means time.Now; called from several goroutines
	Settle         time.Duration    // see snapshot.ArchiveWriter; 0 means the default
	Log            *slog.Logger
}

// Engine takes snapshots. Its methods are safe for concurrent use; backups
// are serialised.
type Engine struct {
	opt     Options
	sem     chan struct{} // one backup at a time
	targets []*target     // used only while holding sem

	mu sync.Mutex
	// archCache maps snapshot ID -> archive IDs it references (a snapshot
	// ID names the same manifest on every target).
	archCache map[string][]string
	status    Status
	runSeq    int
}

// New returns an engine with defaults applied.
func New(o Options) *Engine {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FS == nil {
		o.FS = snapshot.OSFS{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.KeepLast < 1 {
		o.KeepLast = 1
	}
	e := &Engine{opt: o, sem: make(chan struct{}, 1), archCache: map[string][]string{}}
	e.status.Counts = map[string]int{}
	for _, s := range o.Targets {
		e.targets = append(e.targets, &target{store: s, verified: map[string]verification{}})
		e.status.Targets = append(e.status.Targets, TargetStatus{Name: s.Name(), State: "unknown"})
	}
	return e
}

// ErrBusy is returned by TryBackup while another backup runs.
var ErrBusy = errors.New("a backup is already running")

// Backup waits for any running backup, then runs one.
func (e *Engine) Backup(ctx context.Context, reason string) Result {
	return e.BackupRun(ctx, e.NewRunID(), reason)
}

// BackupRun is Backup under a run ID from NewRunID.
func (e *Engine) BackupRun(ctx context.Context, runID, reason string) Result {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{RunID: runID, Reason: reason, Err: ctx.Err(), Error: ctx.Err().Error()}
	}
	defer func() { <-e.sem }()
	return e.run(ctx, runID, reason)
}

// TryBackup runs a backup unless one is running, in which case it returns ErrBusy.
func (e *Engine) TryBackup(ctx context.Context, reason string) Result {
	select {
	case e.sem <- struct{}{}:
	default:
		return Result{Reason: reason, Err: ErrBusy, Error: ErrBusy.Error()}
	}
	defer func() { <-e.sem }()
	return e.run(ctx, e.NewRunID(), reason)
}

// NewRunID allocates the ID of a backup run.
func (e *Engine) NewRunID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runSeq++
	return fmt.Sprintf("run-%d", e.runSeq)
}

func (e *Engine) run(ctx context.Context, runID, reason string) Result {
	e.mu.Lock()
	r := Result{RunID: runID, Reason: reason, Started: e.opt.Now()}
	e.status.Running, e.status.Current = true, r.RunID
	e.mu.Unlock()

	log := e.opt.Log.With("run", r.RunID)
	log.Info("backup started", "reason", reason)
	err := e.snapshot(ctx, log, &r)
	r.Finished = e.opt.Now()
	r.DurationSeconds = r.Finished.Sub(r.Started).Seconds()
	if err != nil {
		r.Err, r.Error = err, err.Error()
		log.Error("backup failed", "error", r.Error, "duration_s", r.DurationSeconds)
	} else {
		log.Info("backup finished", "snapshot", r.Snapshot, "unchanged", r.Unchanged, "files", r.Files,
			"bytes", r.Bytes, "archive_bytes", r.ArchiveBytes, "skipped", r.Skipped, "duration_s", r.DurationSeconds)
	}
	e.record(r)
	// Hand the archive buffers back to the OS: the daemon idles between
	// backups. Once more a moment later, for what answering the caller took.
	debug.FreeOSMemory()
	time.AfterFunc(time.Second, debug.FreeOSMemory)
	return r
}

// snapshot does one backup: prepare every target, scan, compare with each
// target's base, archive what any target lacks, commit and prune per target.
func (e *Engine) snapshot(ctx context.Context, log *slog.Logger, r *Result) error {
	lock, err := acquireLock(e.opt.StateDir, e.opt.Now())
	if err != nil {
		return err
	}
	defer lock.release()
	e.removeStaleSpools()
	defer func() {
		for _, t := range e.targets {
			t.base = nil // only a summary stays between runs
		}
	}()
	rs := &runState{e: e, log: log, r: r}
	ready := rs.prepareAll(ctx)
	if len(ready) == 0 {
		return fmt.Errorf("no backup target answered: %w", errors.Join(rs.failures...))
	}
	scanStart := time.Now()
	entries, skipped, err := (&snapshot.Scanner{Root: e.opt.Workspace, FS: e.opt.FS, Excludes: e.opt.Excludes}).Scan()
	if err != nil {
		return errors.Join(append(rs.failures, err)...)
	}
	r.ScanSeconds = time.Since(scanStart).Seconds()
	r.Files, r.Bytes = countFiles(entries)
	rs.skipped = skipped
	defer rs.reportSkipped()
	need := rs.needing(ctx, ready, entries)
	if len(need) == 0 {
		return errors.Join(rs.failures...)
	}
	m, spool, need, err := rs.build(ctx, need, entries)
	if spool != "" {
		defer removeFile(spool)
	}
	if err != nil {
		for _, t := range need {
			rs.fail(t, err)
		}
	}
	if m == nil {
		return errors.Join(rs.failures...)
	}
	// Files that could not be read may leave a target with nothing new.
	if need = rs.needing(ctx, need, m.Entries); len(need) > 0 {
		commitStart := time.Now()
		rs.commitAll(ctx, need, m, spool)
		r.CommitSeconds = time.Since(commitStart).Seconds()
	}
	return errors.Join(rs.failures...)
}

func countFiles(entries []snapshot.Entry) (int, int64) {
	m := snapshot.Manifest{Entries: entries}
	return m.Totals()
}
