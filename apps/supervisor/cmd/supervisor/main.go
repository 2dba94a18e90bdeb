// Command workspace-supervisor watches a dev8 workspace for activity, backs
// it up to a mounted volume, S3 and/or Azure Blob, and restores it.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/dev8/images/apps/supervisor/internal/config"
	"github.com/dev8/images/apps/supervisor/internal/daemon"
)

// version is stamped at build time with -ldflags "-X main.version=<v>".
var version = "dev"

const usage = `usage: workspace-supervisor [command]

commands:
  (none)      run the supervisor daemon
  version     print the version
  restore     restore a snapshot: restore [--snapshot ID|latest] [--from mount|s3|azure] [--skip-corrupt] --target DIR
  help        print this help

Configuration is read from the environment; see README.md.
`

func main() {
	if os.Getenv("GOGC") == "" {
		// The daemon idles with well under 1 MB live; Go's default lets 4 MB
		// of garbage build up before collecting, a quarter of the idle budget.
		debug.SetGCPercent(idleGCPercent)
	}
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// idleGCPercent makes the minimum heap 1 MB instead of 4 MB. Backups keep
// their buffers in pools, so the extra collections cost little.
const idleGCPercent = 25

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	case "", "restore":
	default:
		fmt.Fprintf(stderr, "workspace-supervisor: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "workspace-supervisor: %v\n", err)
		return 1
	}
	log := newLogger(cfg, stderr)
	if cmd == "restore" {
		return restoreCmd(args[1:], cfg, log, stdout, stderr)
	}
	if err := hideProcess(); err != nil {
		log.Error("cannot hide the process's credentials from other processes", "error", err.Error())
		return 1
	}
	if err := daemon.Run(context.Background(), cfg, version, log); err != nil {
		log.Error("supervisor failed", "error", err.Error())
		return 1
	}
	return 0
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h).With("component", "workspace-supervisor")
}
