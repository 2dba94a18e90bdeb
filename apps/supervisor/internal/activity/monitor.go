// Package activity tracks when the workspace was last used: file changes,
// SSH and IDE connections, terminal input and new processes.
package activity

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/dev8/images/apps/supervisor/internal/snapshot"
)

// Options configures a Monitor.
type Options struct {
	Root         string
	Excludes     []string
	Ports        map[int]string // local port -> name, e.g. 2222: "ssh"
	Interval     time.Duration  // how often connections, terminals and processes are checked
	ProcRoot     string         // default /proc
	PtsDir       string         // default /dev/pts
	ForcePolling bool           // skip inotify
	WatchLimit   int            // at most this many inotify watches (0: only the kernel's limit)
	Now          func() time.Time
	Log          *slog.Logger
}

// State is what the monitor knows.
type State struct {
	LastActivity time.Time      `json:"last_activity"`
	Source       string         `json:"last_activity_source"`
	IdleSeconds  float64        `json:"idle_seconds"`
	Connections  map[string]int `json:"connections"`
	FileWatch    string         `json:"file_watch"` // "inotify" or "polling"
}

// Monitor watches for activity; Run drives it, State reads it.
type Monitor struct {
	opt     Options
	matcher *snapshot.Matcher

	mu       sync.Mutex
	last     time.Time
	source   string
	conns    map[string]int
	mode     string
	pts      time.Time
	pid      int
	pollSeen time.Time // newest mtime seen by the polling fallback
	watches  int       // inotify watches added (Run's goroutine only)
	proc     procReader
}

// New returns a monitor; activity starts at the current time.
func New(o Options) *Monitor {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.PtsDir == "" {
		o.PtsDir = "/dev/pts"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	m := &Monitor{opt: o, last: o.Now(), source: "start", conns: map[string]int{}, mode: "inotify",
		matcher: snapshot.NewMatcher(append(append([]string{}, snapshot.DefaultExcludes...), o.Excludes...)...)}
	m.pts, m.pid = newestPTY(o.PtsDir), lastPID(o.ProcRoot)
	if o.ForcePolling {
		m.mode = "polling"
	}
	return m
}

// State returns the current activity state.
func (m *Monitor) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	conns := make(map[string]int, len(m.conns))
	for k, v := range m.conns {
		conns[k] = v
	}
	return State{LastActivity: m.last, Source: m.source, IdleSeconds: m.opt.Now().Sub(m.last).Seconds(),
		Connections: conns, FileWatch: m.mode}
}

func (m *Monitor) touch(source string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last, m.source = m.opt.Now(), source
}

// Run watches until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	var events chan fsnotify.Event
	var watcher *fsnotify.Watcher
	if !m.opt.ForcePolling {
		w, err := m.startWatcher()
		if err != nil {
			m.opt.Log.Warn("inotify unavailable, polling the workspace instead", "error", err.Error())
		} else {
			watcher, events = w, w.Events
			defer watcher.Close()
		}
	}
	if watcher == nil {
		m.setPolling()
	}
	tick := time.NewTicker(m.opt.Interval)
	defer tick.Stop()
	m.check()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			m.onEvent(watcher, ev)
		case <-tick.C:
			m.check()
		}
	}
}

func (m *Monitor) setPolling() {
	m.mu.Lock()
	m.mode = "polling"
	m.mu.Unlock()
	m.pollSeen = m.newestMTime()
}

// startWatcher watches every directory of the workspace. Running out of
// inotify watches is reported as an error so that the caller polls instead.
func (m *Monitor) startWatcher() (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := m.addTree(w, m.opt.Root); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (m *Monitor) addTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if rel, _ := filepath.Rel(m.opt.Root, p); rel != "." && m.matcher.Excluded(filepath.ToSlash(rel), true) {
			return filepath.SkipDir
		}
		if m.opt.WatchLimit > 0 && m.watches >= m.opt.WatchLimit {
			return fmt.Errorf("watch %s: %w (watch limit %d)", p, syscall.ENOSPC, m.opt.WatchLimit)
		}
		if err := w.Add(p); err != nil {
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
				return err
			}
			return nil
		}
		m.watches++
		return nil
	})
}

func (m *Monitor) onEvent(w *fsnotify.Watcher, ev fsnotify.Event) {
	rel, _ := filepath.Rel(m.opt.Root, ev.Name)
	if m.matcher.Excluded(filepath.ToSlash(rel), false) {
		return
	}
	m.touch("files")
	if ev.Has(fsnotify.Create) {
		if err := m.addTree(w, ev.Name); err != nil {
			m.opt.Log.Warn("out of inotify watches, polling the workspace instead", "error", err.Error())
			w.Close()
			m.setPolling()
		}
	}
}

// check samples connections, terminals, processes and, when polling, files.
func (m *Monitor) check() {
	conns := m.proc.connections(m.opt.ProcRoot, m.opt.Ports)
	m.mu.Lock()
	m.conns = conns
	polling := m.mode == "polling"
	m.mu.Unlock()
	for name, n := range conns {
		if n > 0 {
			m.touch(name)
		}
	}
	if t := newestPTY(m.opt.PtsDir); t.After(m.pts) {
		m.pts = t
		m.touch("terminal")
	}
	if p := lastPID(m.opt.ProcRoot); p != m.pid {
		m.pid = p
		m.touch("process")
	}
	if polling {
		if t := m.newestMTime(); t.After(m.pollSeen) {
			m.pollSeen = t
			m.touch("files")
		}
	}
}

// newestMTime is the polling fallback: the newest change time in the tree.
func (m *Monitor) newestMTime() time.Time {
	var newest time.Time
	filepath.WalkDir(m.opt.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if rel, _ := filepath.Rel(m.opt.Root, p); rel != "." && m.matcher.Excluded(filepath.ToSlash(rel), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	return newest
}
