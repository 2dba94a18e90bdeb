package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dev8/images/apps/supervisor/internal/activity"
	"github.com/dev8/images/apps/supervisor/internal/backup"
)

// collector reads the engine and monitor state at scrape time.
type collector struct {
	status   func() backup.Status
	activity func() activity.State

	runs, lastSuccess, lastDuration, lastBytes, targetUp, idle, conns *prometheus.Desc
}

// NewRegistry returns a registry with the Go and process collectors and
// the supervisor's own metrics. Either function may be nil.
func NewRegistry(version string, status func() backup.Status, act func() activity.State) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "workspace_supervisor_build_info", Help: "Build information.",
		ConstLabels: prometheus.Labels{"version": version}})
	info.Set(1)
	reg.MustRegister(info)
	ns := "workspace_supervisor_"
	reg.MustRegister(&collector{
		status:       status,
		activity:     act,
		runs:         prometheus.NewDesc(ns+"backups_total", "Backup runs by outcome (ok, unchanged, failed).", []string{"outcome"}, nil),
		lastSuccess:  prometheus.NewDesc(ns+"backup_last_success_timestamp_seconds", "Time of the last successful backup.", nil, nil),
		lastDuration: prometheus.NewDesc(ns+"backup_last_duration_seconds", "Duration of the last backup run.", nil, nil),
		lastBytes:    prometheus.NewDesc(ns+"backup_last_archive_bytes", "Compressed bytes written by the last backup run.", nil, nil),
		targetUp:     prometheus.NewDesc(ns+"backup_target_ok", "1 if the target's last backup succeeded.", []string{"target"}, nil),
		idle:         prometheus.NewDesc(ns+"idle_seconds", "Seconds since the last workspace activity.", nil, nil),
		conns:        prometheus.NewDesc(ns+"connections", "Established connections by service.", []string{"service"}, nil),
	})
	return reg
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.runs, c.lastSuccess, c.lastDuration, c.lastBytes, c.targetUp, c.idle, c.conns} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if c.status != nil {
		s := c.status()
		for _, outcome := range []string{"ok", "unchanged", "failed"} {
			ch <- prometheus.MustNewConstMetric(c.runs, prometheus.CounterValue, float64(s.Counts[outcome]), outcome)
		}
		if !s.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, float64(s.LastSuccess.UnixNano())/1e9)
		}
		if s.Last != nil {
			ch <- prometheus.MustNewConstMetric(c.lastDuration, prometheus.GaugeValue, s.Last.DurationSeconds)
			ch <- prometheus.MustNewConstMetric(c.lastBytes, prometheus.GaugeValue, float64(s.Last.ArchiveBytes))
		}
		for _, t := range s.Targets {
			up := 0.0
			if t.State == "ok" {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(c.targetUp, prometheus.GaugeValue, up, t.Name)
		}
	}
	if c.activity != nil {
		a := c.activity()
		ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, a.IdleSeconds)
		for name, n := range a.Connections {
			ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(n), name)
		}
	}
}
