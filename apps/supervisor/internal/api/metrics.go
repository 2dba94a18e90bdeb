package api

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The metrics are written in the Prometheus text format (version 0.0.4)
// by hand: client_golang and the protobuf runtime it pulls in would cost
// about 3.5 MB of resident memory, a quarter of the idle budget, for a
// dozen samples.

// metricWriter writes metric families in the text format.
type metricWriter struct {
	w *bufio.Writer
}

// family starts a metric family.
func (m metricWriter) family(name, typ, help string) {
	fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// sample writes one value with label pairs (name, value, name, value...).
func (m metricWriter) sample(name string, v float64, labels ...string) {
	m.w.WriteString(name)
	for i := 0; i+1 < len(labels); i += 2 {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		fmt.Fprintf(m.w, "%s%s=\"%s\"", sep, labels[i], labelEscaper.Replace(labels[i+1]))
	}
	if len(labels) > 0 {
		m.w.WriteByte('}')
	}
	fmt.Fprintf(m.w, " %s\n", strconv.FormatFloat(v, 'g', -1, 64))
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// one writes a family with a single unlabelled sample.
func (m metricWriter) one(name, typ, help string, v float64) {
	m.family(name, typ, help)
	m.sample(name, v)
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	m := metricWriter{bw}
	const ns = "workspace_supervisor_"
	m.family(ns+"build_info", "gauge", "Build information.")
	m.sample(ns+"build_info", 1, "version", s.Version)
	if s.Engine != nil {
		st := s.Engine.Status()
		m.family(ns+"backups_total", "counter", "Backup runs by outcome (ok, unchanged, failed).")
		for _, outcome := range []string{"ok", "unchanged", "failed"} {
			m.sample(ns+"backups_total", float64(st.Counts[outcome]), "outcome", outcome)
		}
		if !st.LastSuccess.IsZero() {
			m.one(ns+"backup_last_success_timestamp_seconds", "gauge", "Time of the last successful backup.",
				float64(st.LastSuccess.UnixNano())/1e9)
		}
		if st.Last != nil {
			m.one(ns+"backup_last_duration_seconds", "gauge", "Duration of the last backup run.", st.Last.DurationSeconds)
			m.one(ns+"backup_last_archive_bytes", "gauge", "Compressed bytes written by the last backup run.", float64(st.Last.ArchiveBytes))
		}
		m.family(ns+"backup_target_ok", "gauge", "1 if the target's last backup succeeded.")
		for _, t := range st.Targets {
			m.sample(ns+"backup_target_ok", boolValue(t.State == "ok"), "target", t.Name)
		}
	}
	if s.Activity != nil {
		a := s.Activity()
		m.one(ns+"idle_seconds", "gauge", "Seconds since the last workspace activity.", a.IdleSeconds)
		m.family(ns+"connections", "gauge", "Established connections by service.")
		for name, n := range a.Connections {
			m.sample(ns+"connections", float64(n), "service", name)
		}
	}
	processMetrics(m, s.startedAt)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// processMetrics writes the usual process and Go runtime gauges.
func processMetrics(m metricWriter, started time.Time) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	m.one("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu)
	m.one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes())
	m.one("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
		float64(started.UnixNano())/1e9)
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		m.one("process_open_fds", "gauge", "Number of open file descriptors.", float64(len(fds)))
	}
	m.one("go_goroutines", "gauge", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	m.one("go_memstats_heap_alloc_bytes", "gauge", "Number of heap bytes allocated and still in use.",
		float64(sample[0].Value.Uint64()))
}

// residentBytes reads the resident set size from /proc/self/statm.
func residentBytes() float64 {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return 0
	}
	defer f.Close()
	var size, resident int64
	if _, err := fmt.Fscan(io.Reader(f), &size, &resident); err != nil {
		return 0
	}
	return float64(resident * int64(os.Getpagesize()))
}
