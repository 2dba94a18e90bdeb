package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/backup"
)

// scheduler triggers a backup every interval until stop ends.
type scheduler struct {
	interval time.Duration
	mu       sync.Mutex
	nextAt   time.Time
}

func (s *scheduler) next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextAt
}

func (s *scheduler) setNext(t time.Time) {
	s.mu.Lock()
	s.nextAt = t
	s.mu.Unlock()
}

// run waits interval between backups. Backups run under work, so a stop
// signal does not interrupt one that is under way; the shutdown phase decides.
func (s *scheduler) run(stop, work context.Context, eng *backup.Engine, log *slog.Logger) {
	t := time.NewTimer(s.interval)
	defer t.Stop()
	s.setNext(time.Now().Add(s.interval))
	for {
		select {
		case <-stop.Done():
			s.setNext(time.Time{})
			return
		case <-t.C:
		}
		if res := eng.TryBackup(work, "schedule"); res.Err == backup.ErrBusy {
			log.Info("scheduled backup skipped", "reason", res.Error)
		}
		t.Reset(s.interval)
		s.setNext(time.Now().Add(s.interval))
	}
}
