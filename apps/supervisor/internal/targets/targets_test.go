package targets

import (
	"slices"
	"testing"

	"github.com/dev8/images/apps/supervisor/internal/config"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

func TestBuild(t *testing.T) {
	env := map[string]string{
		"SUPERVISOR_BACKUP_MOUNT_PATH": "/mnt/azure-volume",
		"AWS_S3_BUCKET":                "b", "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret",
		"AZURE_BLOB_ACCOUNT_NAME": "devstoreaccount1", "AZURE_BLOB_CONTAINER": "c",
		"AZURE_BLOB_ACCOUNT_KEY": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ts, err := Build(cfg.Backup)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range ts {
		names = append(names, s.Name())
	}
	if _, ok := ts[0].(*store.Local); !ok || ts[0].(*store.Local).Dir != "/mnt/azure-volume" {
		t.Errorf("mount target: %#v", ts[0])
	}
	if !slices.Equal(names, []string{"mount", "s3", "azure"}) {
		t.Fatalf("targets = %v", names)
	}
}
