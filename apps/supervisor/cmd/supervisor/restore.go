package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/dev8/images/apps/supervisor/internal/backup"
	"github.com/dev8/images/apps/supervisor/internal/config"
	"github.com/dev8/images/apps/supervisor/internal/snapshot"
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/targets"
)

// Exit statuses of restore.
const (
	restoreOK      = 0
	restoreFailed  = 1
	restoreUsage   = 2
	restorePartial = 3 // --skip-corrupt left damaged files out
)

func restoreCmd(args []string, cfg config.Config, log *slog.Logger, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("snapshot", "latest", "snapshot ID, or latest")
	target := fs.String("target", "", "directory to restore into (must be empty or absent)")
	from := fs.String("from", "", "target to read from: mount, s3 or azure (default: the first configured)")
	skip := fs.Bool("skip-corrupt", false, "restore every intact file and list the damaged ones (exit 3) instead of failing")
	if err := fs.Parse(args); err != nil {
		return restoreUsage
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "workspace-supervisor restore: %v\n", err)
		return code
	}
	switch {
	case *target == "" || fs.NArg() > 0:
		return fail(restoreUsage, fmt.Errorf("--target DIR is required"))
	case *id != "latest" && !backup.ValidID(*id):
		return fail(restoreUsage, fmt.Errorf("--snapshot must be a snapshot ID such as 20261127T154809.166111598Z-272034, or latest; got %q", *id))
	}
	ts, err := targets.Build(cfg.Backup)
	if err == nil && len(ts) == 0 {
		err = fmt.Errorf("no backup target configured: set SUPERVISOR_BACKUP_MOUNT_PATH, AWS_S3_BUCKET or AZURE_BLOB_ACCOUNT_NAME")
	}
	if err != nil {
		return fail(restoreFailed, err)
	}
	src, err := pick(ts, *from)
	if err != nil {
		return fail(restoreUsage, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	m, rep, err := backup.Restore(ctx, src, *id, *target, snapshot.RestoreOptions{SkipCorrupt: *skip})
	if err != nil {
		log.Error("restore failed", "target", src.Name(), "snapshot", *id, "error", err.Error())
		return fail(restoreFailed, err)
	}
	files, bytes := m.Totals()
	log.Info("restore done", "target", src.Name(), "snapshot", m.ID, "files", files, "bytes", bytes, "dir", *target,
		"lost", len(rep.Lost), "inconsistent", len(rep.Inconsistent), "skipped_at_backup", m.SkippedCount)
	for _, p := range rep.Lost {
		fmt.Fprintf(stderr, "workspace-supervisor restore: damaged, not restored: %q\n", p)
	}
	for _, p := range rep.Inconsistent {
		fmt.Fprintf(stderr, "workspace-supervisor restore: changed while it was backed up, may mix versions: %q\n", p)
	}
	json.NewEncoder(stdout).Encode(map[string]any{"snapshot": m.ID, "from": src.Name(), "files": files, "bytes": bytes,
		"lost": rep.Lost, "inconsistent": rep.Inconsistent, "skipped_at_backup": rep.Skipped})
	if len(rep.Lost) > 0 {
		return restorePartial
	}
	return restoreOK
}

func pick(ts []store.Store, name string) (store.Store, error) {
	if name == "" {
		return ts[0], nil
	}
	for _, t := range ts {
		if t.Name() == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("--from %s: that target is not configured", name)
}
