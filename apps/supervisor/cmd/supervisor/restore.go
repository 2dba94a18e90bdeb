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
	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/targets"
)

func restoreCmd(args []string, cfg config.Config, log *slog.Logger, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("snapshot", "latest", "snapshot ID, or latest")
	target := fs.String("target", "", "directory to restore into (must be empty or absent)")
	from := fs.String("from", "", "target to read from: mount, s3 or azure (default: the first configured)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *target == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "workspace-supervisor restore: --target DIR is required")
		return 2
	}
	ts, err := targets.Build(cfg.Backup, log)
	if err == nil && len(ts) == 0 {
		err = fmt.Errorf("no backup target configured: set SUPERVISOR_BACKUP_MOUNT_PATH, AWS_S3_BUCKET or AZURE_BLOB_ACCOUNT_NAME")
	}
	if err != nil {
		fmt.Fprintf(stderr, "workspace-supervisor restore: %v\n", err)
		return 1
	}
	src, err := pick(ts, *from)
	if err != nil {
		fmt.Fprintf(stderr, "workspace-supervisor restore: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	m, err := backup.Restore(ctx, src, *id, *target)
	if err != nil {
		log.Error("restore failed", "target", src.Name(), "snapshot", *id, "error", err.Error())
		fmt.Fprintf(stderr, "workspace-supervisor restore: %v\n", err)
		return 1
	}
	files, bytes := m.Totals()
	log.Info("restore done", "target", src.Name(), "snapshot", m.ID, "files", files, "bytes", bytes, "dir", *target)
	json.NewEncoder(stdout).Encode(map[string]any{"snapshot": m.ID, "from": src.Name(), "files": files, "bytes": bytes})
	return 0
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
