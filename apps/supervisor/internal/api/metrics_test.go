package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dev8/images/apps/supervisor/internal/backup"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// TestMetricsParse checks /metrics with Prometheus's own text parser.
func TestMetricsParse(t *testing.T) {
	eng := backup.New(backup.Options{Workspace: t.TempDir(), StateDir: t.TempDir(),
		Targets: []store.Store{&store.Local{Dir: t.TempDir()}}})
	eng.Backup(context.Background(), "test")
	srv := newServer(t, "", eng)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"workspace_supervisor_build_info": 1, "workspace_supervisor_backup_target_ok": 1,
		"workspace_supervisor_connections": 1, "workspace_supervisor_idle_seconds": 3,
	}
	for name, v := range want {
		f, ok := families[name]
		if !ok || f.GetMetric()[0].GetGauge().GetValue() != v {
			t.Errorf("%s: %v", name, f)
		}
	}
	for _, name := range []string{"workspace_supervisor_backups_total", "process_resident_memory_bytes", "process_cpu_seconds_total", "go_goroutines"} {
		if _, ok := families[name]; !ok {
			t.Errorf("%s is missing", name)
		}
	}
	if got := families["workspace_supervisor_backups_total"].GetMetric(); len(got) != 3 {
		t.Errorf("backups_total has %d outcomes", len(got))
	}
	if rss := families["process_resident_memory_bytes"].GetMetric()[0].GetGauge().GetValue(); rss < 1<<20 {
		t.Errorf("resident memory %v", rss)
	}
}
