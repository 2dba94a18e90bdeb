// Package backup runs snapshots of the workspace to every configured target,
// one at a time, and applies the retention policy.
package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// Options configures an Engine.
type Options struct {
	Workspace string
	StateDir  string // lock file, and spooled archives unless SpoolDir is set
	SpoolDir  string // where archives are written before upload; best on a mount target's filesystem
	Excludes  []string
	KeepLast  int
	KeepDaily int
	Targets   []store.Store
	FS        snapshot.FS      // nil means the real filesystem
	Now       func() time.Time // nil means time.Now
	Log       *slog.Logger
}

// Engine takes snapshots. Its methods are safe for concurrent use; backups
// are serialised.
type Engine struct {
	opt Options
	sem chan struct{} // one backup at a time

	mu     sync.Mutex
	base   *snapshot.Manifest // newest snapshot present on every target
	loaded bool
	lastOn map[string]string // target name -> newest snapshot ID committed there
	// archCache maps snapshot ID -> archive IDs it references.
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
	if o.SpoolDir == "" {
		o.SpoolDir = o.StateDir
	}
	if o.KeepLast < 1 {
		o.KeepLast = 1
	}
	e := &Engine{opt: o, sem: make(chan struct{}, 1), lastOn: map[string]string{}, archCache: map[string][]string{}}
	e.status.Counts = map[string]int{}
	for _, t := range o.Targets {
		e.status.Targets = append(e.status.Targets, TargetStatus{Name: t.Name(), State: "unknown"})
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
			"bytes", r.Bytes, "archive_bytes", r.ArchiveBytes, "duration_s", r.DurationSeconds)
	}
	e.record(r)
	// Hand the archive buffers back to the OS: the daemon idles between backups.
	debug.FreeOSMemory()
	return r
}

// snapshot does one backup: scan, diff against the base, archive what
// changed, commit to every target, prune.
func (e *Engine) snapshot(ctx context.Context, log *slog.Logger, r *Result) error {
	lock, err := acquireLock(e.opt.StateDir, e.opt.Now())
	if err != nil {
		return err
	}
	defer lock.release()
	removeStaleSpools(e.opt.SpoolDir)
	if err := e.loadBase(ctx, log); err != nil {
		return err
	}
	scanStart := time.Now()
	entries, err := (&snapshot.Scanner{Root: e.opt.Workspace, FS: e.opt.FS, Excludes: e.opt.Excludes}).Scan()
	if err != nil {
		return err
	}
	e.mu.Lock()
	base := e.base
	e.mu.Unlock()
	toRead, changed := snapshot.Diff(base, entries)
	r.ScanSeconds = time.Since(scanStart).Seconds()
	if !changed && e.allSynced(base) {
		r.Unchanged, r.Snapshot = true, base.ID
		r.Files, r.Bytes = countFiles(entries)
		return nil
	}
	id := newID(e.opt.Now())
	if base != nil && id <= base.ID { // the clock went back: keep IDs in order
		t, _ := snapshotTime(base.ID)
		id = newID(t.Add(time.Microsecond))
	}
	m := &snapshot.Manifest{Version: snapshot.FormatVersion, ID: id, Created: e.opt.Now().Unix(),
		Archives: map[string]snapshot.ArchiveInfo{}, Entries: entries}
	spool := ""
	if len(toRead) > 0 {
		spool = filepath.Join(e.opt.SpoolDir, "spool-"+id+".tar.zst")
		defer os.Remove(spool)
		archiveStart := time.Now()
		info, err := writeSpool(ctx, spool, e.opt.Workspace, e.opt.FS, id, entries, toRead)
		if err != nil {
			return err
		}
		r.ArchiveSeconds = time.Since(archiveStart).Seconds()
		m.Archives[id] = info
		r.ArchiveBytes = info.Size
	}
	if base != nil {
		for _, en := range entries {
			if info, ok := base.Archives[en.Archive]; ok && en.Archive != id {
				m.Archives[en.Archive] = info
			}
		}
	}
	r.Snapshot, r.ChangedFiles = id, len(toRead)
	r.Files, r.Bytes = countFiles(entries)
	commitStart := time.Now()
	defer func() { r.CommitSeconds = time.Since(commitStart).Seconds() }()
	return e.commitAll(ctx, log, m, spool, base)
}

func countFiles(entries []snapshot.Entry) (int, int64) {
	m := snapshot.Manifest{Entries: entries}
	return m.Totals()
}
