package activity

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:08AE 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 0100007F:D432 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F90 0100007F:D433 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0000000000000000
   4: 0100007F:D431 0100007F:08AE 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
`

const procTCP6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:E2A4 01 00000000:00000000
`

func TestCountEstablished(t *testing.T) {
	ports := map[int]string{2222: "ssh", 8080: "ide"}
	tests := []struct {
		name    string
		input   string
		wantSSH int
		wantIDE int
	}{
		{"ipv4: listen, time-wait and client side ignored", procTCP, 1, 1},
		{"ipv6", procTCP6, 0, 1},
		{"empty", "header only\n", 0, 0},
		{"garbage", "h\n0: nonsense\n1: 0100007F:ZZZZ 0:0 01\n", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counts := map[string]int{}
			countEstablished([]byte(tc.input), ports, counts)
			if counts["ssh"] != tc.wantSSH || counts["ide"] != tc.wantIDE {
				t.Fatalf("counts = %v", counts)
			}
		})
	}
}

// An idle daemon polls /proc/net/tcp: parsing it must not allocate.
func TestCountEstablishedDoesNotAllocate(t *testing.T) {
	ports, text := map[int]string{2222: "ssh", 8080: "ide"}, []byte(procTCP)
	counts := map[string]int{"ssh": 0, "ide": 0}
	if a := testing.AllocsPerRun(100, func() { countEstablished(text, ports, counts) }); a != 0 {
		t.Fatalf("%v allocations per call", a)
	}
}

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestMonitorSources(t *testing.T) {
	for _, polling := range []bool{false, true} {
		name := map[bool]string{false: "inotify", true: "polling"}[polling]
		t.Run(name, func(t *testing.T) {
			ws, proc, pts := t.TempDir(), t.TempDir(), t.TempDir()
			os.MkdirAll(filepath.Join(proc, "net"), 0o755)
			os.WriteFile(filepath.Join(proc, "net", "tcp"), []byte("header\n"), 0o644)
			os.Mkdir(filepath.Join(ws, "sub"), 0o755)
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			m := New(Options{Root: ws, Ports: map[int]string{2222: "ssh"}, Interval: 20 * time.Millisecond,
				ProcRoot: proc, PtsDir: pts, ForcePolling: polling, Now: clock.Now})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { m.Run(ctx) })
			t.Cleanup(func() { cancel(); wg.Wait() })

			clock.Add(time.Minute)
			if st := m.State(); st.IdleSeconds != 60 || st.Source != "start" || st.FileWatch != name {
				t.Fatalf("idle state = %+v", st)
			}
			time.Sleep(50 * time.Millisecond) // let the watcher or poller settle
			steps := []struct {
				source string
				act    func()
			}{
				{"files", func() { os.WriteFile(filepath.Join(ws, "sub", "new.txt"), []byte("x"), 0o644) }},
				{"ssh", func() { os.WriteFile(filepath.Join(proc, "net", "tcp"), []byte(procTCP), 0o644) }},
				{"terminal", func() {
					os.WriteFile(filepath.Join(proc, "net", "tcp"), []byte("header\n"), 0o644)
					os.WriteFile(filepath.Join(pts, "0"), nil, 0o600)
				}},
				{"process", func() { os.WriteFile(filepath.Join(proc, "loadavg"), []byte("0.00 0.01 0.05 1/123 4567\n"), 0o644) }},
			}
			for _, step := range steps {
				clock.Add(time.Minute)
				step.act()
				waitFor(t, step.source, func() bool {
					st := m.State()
					return st.Source == step.source && st.IdleSeconds == 0
				})
			}
		})
	}
}

func TestExcludedChangesAreNotActivity(t *testing.T) {
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, ".cache"), 0o755)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := New(Options{Root: ws, Interval: time.Hour, ProcRoot: t.TempDir(), PtsDir: t.TempDir(), Now: clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	time.Sleep(50 * time.Millisecond)
	clock.Add(time.Minute)
	os.WriteFile(filepath.Join(ws, ".cache", "x"), []byte("x"), 0o644)
	time.Sleep(100 * time.Millisecond)
	if st := m.State(); st.IdleSeconds != 60 {
		t.Fatalf("a cache write counted as activity: %+v", st)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("%s activity was not seen", what)
}

func TestFallsBackToPollingWhenWatchesRunOut(t *testing.T) {
	tests := []struct {
		name       string
		limit      int
		dirsBefore int
		dirsAfter  int
	}{
		{"at start", 2, 3, 0},
		{"while running", 3, 1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := t.TempDir()
			for i := range tc.dirsBefore {
				os.Mkdir(filepath.Join(ws, "before"+strings.Repeat("x", i)), 0o755)
			}
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			m := New(Options{Root: ws, Interval: 20 * time.Millisecond, WatchLimit: tc.limit,
				ProcRoot: t.TempDir(), PtsDir: t.TempDir(), Now: clock.Now})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { m.Run(ctx) })
			t.Cleanup(func() { cancel(); wg.Wait() })
			time.Sleep(50 * time.Millisecond)
			for i := range tc.dirsAfter {
				os.Mkdir(filepath.Join(ws, "after"+strings.Repeat("x", i)), 0o755)
			}
			waitFor(t, "polling mode", func() bool { return m.State().FileWatch == "polling" })
			clock.Add(time.Minute)
			time.Sleep(50 * time.Millisecond)
			os.WriteFile(filepath.Join(ws, "late.txt"), []byte("x"), 0o644)
			waitFor(t, "files", func() bool { st := m.State(); return st.Source == "files" && st.IdleSeconds == 0 })
		})
	}
}
