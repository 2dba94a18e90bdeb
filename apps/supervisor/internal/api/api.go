// Package api serves the supervisor's HTTP endpoints: health, status,
// backup trigger and Prometheus metrics.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/activity"
	"github.com/dev8/images/apps/supervisor/internal/backup"
)

// Backuper is the part of the backup engine the API uses.
type Backuper interface {
	BackupRun(ctx context.Context, runID, reason string) backup.Result
	NewRunID() string
	Status() backup.Status
}

// Server holds the handlers' dependencies.
type Server struct {
	Version   string
	Token     string // bearer token; empty means no authentication
	Engine    Backuper
	Activity  func() activity.State
	NextRun   func() time.Time // next scheduled backup; zero if none
	Ready     func() bool
	Log       *slog.Logger
	BaseCtx   context.Context // backups started by the API run under it (it ends with the shutdown budget)
	Interval  time.Duration
	startedAt time.Time

	mu    sync.Mutex
	runs  map[string]*backup.Result // asynchronous runs by ID; nil while running
	order []string                  // their IDs, oldest first
}

// keptRuns bounds how many finished asynchronous runs can be polled.
const keptRuns = 100

func (s *Server) remember(id string, res *backup.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.runs[id]; known {
		s.runs[id] = res
		return
	}
	s.runs[id] = res
	s.order = append(s.order, id)
	if len(s.order) > keptRuns {
		delete(s.runs, s.order[0])
		s.order = s.order[1:]
	}
}

// Handler returns the routed, authenticated handler.
func (s *Server) Handler() http.Handler {
	s.startedAt = time.Now()
	s.runs = map[string]*backup.Result{}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /v1/status", s.auth(s.status))
	mux.HandleFunc("POST /v1/backup", s.auth(s.triggerBackup))
	mux.HandleFunc("GET /v1/backups/{id}", s.auth(s.backupRun))
	mux.HandleFunc("GET /metrics", s.auth(s.metrics))
	return mux
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	if s.Token == "" {
		return h
	}
	want := []byte("Bearer " + s.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="workspace-supervisor"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		h(w, r)
	}
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.Ready != nil && !s.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// StatusBody is the JSON of GET /v1/status.
type StatusBody struct {
	Version       string          `json:"version"`
	UptimeSeconds float64         `json:"uptime_seconds"`
	Activity      *activity.State `json:"activity,omitempty"`
	Backup        *BackupStatus   `json:"backup,omitempty"`
}

// BackupStatus is the backup part of StatusBody.
type BackupStatus struct {
	backup.Status
	NextBackup      time.Time `json:"next_backup,omitzero"`
	IntervalSeconds float64   `json:"interval_seconds"`
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	body := StatusBody{Version: s.Version, UptimeSeconds: time.Since(s.startedAt).Seconds()}
	if s.Activity != nil {
		a := s.Activity()
		body.Activity = &a
	}
	if s.Engine != nil {
		body.Backup = &BackupStatus{Status: s.Engine.Status(), IntervalSeconds: s.Interval.Seconds()}
		if s.NextRun != nil {
			body.Backup.NextBackup = s.NextRun()
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// triggerBackup starts a backup that runs to completion whoever asked: a
// client that goes away does not cancel it. By default the answer comes
// when the backup is done, with its result (which carries the run ID);
// with ?wait=false it is 202 with the run ID to poll at
// GET /v1/backups/{id}. Either way the run can be polled by its ID.
func (s *Server) triggerBackup(w http.ResponseWriter, r *http.Request) {
	if s.Engine == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "backups are disabled (BACKUP_ENABLED=false)"})
		return
	}
	id := s.Engine.NewRunID()
	s.remember(id, nil)
	done := make(chan backup.Result, 1)
	go func() {
		res := s.Engine.BackupRun(s.BaseCtx, id, "api")
		s.remember(id, &res)
		done <- res
	}()
	if r.URL.Query().Get("wait") == "false" {
		writeJSON(w, http.StatusAccepted, map[string]string{"run_id": id, "poll": "/v1/backups/" + id})
		return
	}
	select {
	case res := <-done:
		code := http.StatusOK
		if res.Err != nil {
			code = http.StatusInternalServerError
		}
		writeJSON(w, code, res)
	case <-r.Context().Done():
		s.Log.Info("client left before the backup finished; it carries on", "run", id)
	}
}

func (s *Server) backupRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	res, ok := s.runs[id]
	s.mu.Unlock()
	switch {
	case ok && res != nil:
		writeJSON(w, http.StatusOK, res)
	case ok:
		writeJSON(w, http.StatusAccepted, map[string]string{"run_id": id, "state": "running"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown run"})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
