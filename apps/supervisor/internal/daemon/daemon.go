// Package daemon wires the supervisor together and runs it until a stop
// signal, then shuts down in ordered phases.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/activity"
	"github.com/dev8/images/apps/supervisor/internal/api"
	"github.com/dev8/images/apps/supervisor/internal/backup"
	"github.com/dev8/images/apps/supervisor/internal/config"
	"github.com/dev8/images/apps/supervisor/internal/targets"
)

// httpShutdownReserve is kept from the shutdown budget for stopping HTTP.
const httpShutdownReserve = time.Second

// Run runs the supervisor until ctx ends or a stop signal arrives.
func Run(ctx context.Context, cfg config.Config, version string, log *slog.Logger) error {
	if !cfg.Enabled {
		log.Info("supervisor disabled, exiting", "variable", "SUPERVISOR_ENABLED")
		return nil
	}
	sigCtx, stop := signal.NotifyContext(ctx, stopSignals...)
	defer stop()
	var wg sync.WaitGroup
	bg, cancelBG := context.WithCancel(context.Background())
	defer func() { cancelBG(); wg.Wait() }()
	if os.Getpid() == 1 {
		wg.Go(func() { reapChildren(bg) })
	}
	mon := activity.New(activity.Options{Root: cfg.WorkspaceDir, Excludes: cfg.Backup.Excludes,
		Ports: map[int]string{cfg.SSHPort: "ssh", cfg.IDEPort: "ide"}, Interval: cfg.ActivityPollInterval, Log: log})
	wg.Go(func() { mon.Run(bg) })
	// Setting up the watches allocates; return that memory once it is done.
	idleTrim := time.AfterFunc(5*time.Second, debug.FreeOSMemory)
	defer idleTrim.Stop()

	var eng *backup.Engine
	if cfg.Backup.Enabled {
		ts, err := targets.Build(cfg.Backup)
		if err != nil {
			return fmt.Errorf("backup config: %w", err)
		}
		eng = backup.New(backup.Options{Workspace: cfg.WorkspaceDir, StateDir: cfg.StateDir, Excludes: cfg.Backup.Excludes,
			KeepLast: cfg.Backup.KeepLast, KeepDaily: cfg.Backup.KeepDaily, VerifyInterval: cfg.Backup.VerifyInterval,
			Targets: ts, Log: log})
	}
	// work carries every backup; it is cancelled when the shutdown budget ends.
	work, cancelWork := context.WithCancel(context.Background())
	defer cancelWork()
	sched := &scheduler{interval: cfg.Backup.Interval}

	var ready atomic.Bool // false again once the shutdown starts
	srv, err := startHTTP(cfg, version, eng, mon, sched, work, ready.Load, log)
	if err != nil {
		return err
	}
	if eng != nil {
		wg.Go(func() { sched.run(sigCtx, work, eng, log) })
	}
	ready.Store(true)
	log.Info("supervisor started", "version", version, "workspace", cfg.WorkspaceDir,
		"backup_enabled", cfg.Backup.Enabled, "http_addr", httpAddr(cfg), "pid", os.Getpid())

	<-sigCtx.Done()
	ready.Store(false)
	log.Info("shutdown", "signal", signalName(sigCtx), "budget_s", cfg.ShutdownTimeout.Seconds())
	return shutdown(cfg, eng, srv, cancelWork, log)
}

// shutdown runs the phases: the scheduler has already stopped with the
// signal context; run the final backup within the budget (cancelling any
// backup still running when it ends); then stop HTTP with a fresh context.
func shutdown(cfg config.Config, eng *backup.Engine, srv *http.Server, cancelWork context.CancelFunc, log *slog.Logger) error {
	var finalErr error
	if eng != nil {
		budget := max(cfg.ShutdownTimeout-httpShutdownReserve, time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		timer := time.AfterFunc(budget, cancelWork)
		res := eng.Backup(ctx, "shutdown")
		timer.Stop()
		cancel()
		cancelWork()
		if res.Err != nil {
			finalErr = fmt.Errorf("final backup: %w", res.Err)
			log.Error("final backup failed", "error", res.Error)
		} else {
			log.Info("final backup done", "snapshot", res.Snapshot, "unchanged", res.Unchanged)
		}
	}
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdownReserve)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("http shutdown", "error", err.Error())
		}
	}
	log.Info("supervisor stopped")
	return finalErr
}

func httpAddr(cfg config.Config) string {
	if !cfg.HTTPEnabled {
		return ""
	}
	return cfg.HTTPAddr
}

func startHTTP(cfg config.Config, version string, eng *backup.Engine, mon *activity.Monitor, sched *scheduler,
	work context.Context, ready func() bool, log *slog.Logger) (*http.Server, error) {
	if !cfg.HTTPEnabled {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("SUPERVISOR_HTTP_ADDR: %w", err)
	}
	s := &api.Server{Version: version, Token: cfg.HTTPToken.Reveal(), Activity: mon.State, NextRun: sched.next,
		Ready: ready, Log: log, BaseCtx: work, Interval: cfg.Backup.Interval}
	if eng != nil {
		s.Engine = eng
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "error", err.Error())
		}
	}()
	return srv, nil
}
