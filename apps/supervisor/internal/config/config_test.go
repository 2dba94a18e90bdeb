package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"enabled", c.Enabled, true},
		{"http addr", c.HTTPAddr, "127.0.0.1:9000"},
		{"workspace", c.WorkspaceDir, "/workspace"},
		{"interval", c.Backup.Interval, 300 * time.Second},
		{"shutdown", c.ShutdownTimeout, 8 * time.Second},
		{"backup enabled", c.Backup.Enabled, false},
		{"keep last", c.Backup.KeepLast, 10},
		{"verify", c.Backup.VerifyInterval, 24 * time.Hour},
		{"ssh port", c.SSHPort, 2222},
		{"ide port", c.IDEPort, 8080},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadTargets(t *testing.T) {
	c, err := Load(env(map[string]string{
		"BACKUP_ENABLED": "true", "SUPERVISOR_BACKUP_MOUNT_PATH": "/mnt/azure-volume",
		"AWS_S3_BUCKET": "b", "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "s3cret", "AWS_S3_ENDPOINT": "http://127.0.0.1:5000/",
		"AZURE_BLOB_ACCOUNT_NAME": "acct", "AZURE_BLOB_ACCOUNT_KEY": "YXprZXk=", "AZURE_BLOB_CONTAINER": "c",
		"SUPERVISOR_BACKUP_INTERVAL": "90", "SUPERVISOR_BACKUP_EXCLUDE": "*.log, build/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Backup.S3 == nil || c.Backup.Azure == nil || c.Backup.MountPath != "/mnt/azure-volume" {
		t.Fatalf("targets not configured: %+v", c.Backup)
	}
	if c.Backup.S3.Endpoint != "http://127.0.0.1:5000" || c.Backup.Interval != 90*time.Second {
		t.Errorf("endpoint %q interval %s", c.Backup.S3.Endpoint, c.Backup.Interval)
	}
	if strings.Join(c.Backup.Excludes, "|") != "*.log|build/" {
		t.Errorf("excludes = %q", c.Backup.Excludes)
	}
	// Secrets never leak through fmt, JSON or slog.
	var sb strings.Builder
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("cfg", "cfg", c)
	js, _ := json.Marshal(c)
	for _, out := range []string{fmt.Sprintf("%v %+v", c, c), string(js), sb.String()} {
		if strings.Contains(out, "s3cret") || strings.Contains(out, "YXprZXk=") {
			t.Fatalf("secret leaked: %s", out)
		}
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SUPERVISOR_ENABLED": "maybe"}, "SUPERVISOR_ENABLED must be true or false"},
		{map[string]string{"BACKUP_ENABLED": "yes please"}, "BACKUP_ENABLED must be true or false"},
		{map[string]string{"BACKUP_ENABLED": "true"}, "BACKUP_ENABLED is true but no target is configured"},
		{map[string]string{"SUPERVISOR_BACKUP_INTERVAL": "soon"}, "SUPERVISOR_BACKUP_INTERVAL must be a duration"},
		{map[string]string{"SUPERVISOR_BACKUP_INTERVAL": "0"}, "SUPERVISOR_BACKUP_INTERVAL must be from 1s"},
		{map[string]string{"SUPERVISOR_BACKUP_INTERVAL": "18446744083"}, "SUPERVISOR_BACKUP_INTERVAL must be at most 8760h"},
		{map[string]string{"SUPERVISOR_BACKUP_INTERVAL": "99999999999999999999"}, "SUPERVISOR_BACKUP_INTERVAL must be at most"},
		{map[string]string{"SUPERVISOR_BACKUP_INTERVAL": "9000h"}, "SUPERVISOR_BACKUP_INTERVAL must be from 1s to 8760h"},
		{map[string]string{"SUPERVISOR_BACKUP_VERIFY_INTERVAL": "-1s"}, "SUPERVISOR_BACKUP_VERIFY_INTERVAL must be from 0s"},
		{map[string]string{"SUPERVISOR_WORKSPACE_DIR": "/ws", "SUPERVISOR_BACKUP_MOUNT_PATH": "/ws/backups"}, "SUPERVISOR_BACKUP_MOUNT_PATH is \"/ws/backups\", inside SUPERVISOR_WORKSPACE_DIR"},
		{map[string]string{"SUPERVISOR_WORKSPACE_DIR": "/ws", "SUPERVISOR_BACKUP_MOUNT_PATH": "/ws"}, "SUPERVISOR_BACKUP_MOUNT_PATH is \"/ws\", inside"},
		{map[string]string{"SUPERVISOR_WORKSPACE_DIR": "/ws", "SUPERVISOR_STATE_DIR": "/ws/.state"}, "SUPERVISOR_STATE_DIR is \"/ws/.state\", inside"},
		{map[string]string{"SUPERVISOR_BACKUP_MOUNT_PATH": "relative/dir"}, "SUPERVISOR_BACKUP_MOUNT_PATH must be an absolute path"},
		{map[string]string{"SUPERVISOR_HTTP_ENABLED": "2"}, "SUPERVISOR_HTTP_ENABLED must be true or false"},
		{map[string]string{"SUPERVISOR_HTTP_ADDR": "nonsense"}, "SUPERVISOR_HTTP_ADDR must be host:port"},
		{map[string]string{"SUPERVISOR_HTTP_ADDR": "0.0.0.0:9000"}, "SUPERVISOR_HTTP_ADDR is \"0.0.0.0:9000\", not a loopback address"},
		{map[string]string{"SUPERVISOR_WORKSPACE_DIR": "ws"}, "SUPERVISOR_WORKSPACE_DIR must be an absolute path"},
		{map[string]string{"SUPERVISOR_BACKUP_KEEP_LAST": "0"}, "SUPERVISOR_BACKUP_KEEP_LAST must be an integer"},
		{map[string]string{"SUPERVISOR_BACKUP_KEEP_DAILY": "-1"}, "SUPERVISOR_BACKUP_KEEP_DAILY must be an integer"},
		{map[string]string{"SUPERVISOR_SHUTDOWN_TIMEOUT": "100ms"}, "SUPERVISOR_SHUTDOWN_TIMEOUT must be from 1s"},
		{map[string]string{"SUPERVISOR_LOG_FORMAT": "xml"}, "SUPERVISOR_LOG_FORMAT must be one of"},
		{map[string]string{"AWS_S3_BUCKET": "b", "AWS_SECRET_ACCESS_KEY": "x"}, "AWS_ACCESS_KEY_ID must be set when AWS_S3_BUCKET is set"},
		{map[string]string{"AWS_S3_BUCKET": "b", "AWS_ACCESS_KEY_ID": "x"}, "AWS_SECRET_ACCESS_KEY must be set when AWS_S3_BUCKET is set"},
		{map[string]string{"AWS_S3_ENDPOINT": "localhost:5000"}, "AWS_S3_ENDPOINT must be an http(s) URL"},
		{map[string]string{"AZURE_BLOB_ACCOUNT_NAME": "a", "AZURE_BLOB_CONTAINER": "c"}, "AZURE_BLOB_ACCOUNT_KEY must be set"},
		{map[string]string{"AZURE_BLOB_ACCOUNT_NAME": "a", "AZURE_BLOB_ACCOUNT_KEY": "a2V5"}, "AZURE_BLOB_CONTAINER must be set"},
		{map[string]string{"AZURE_BLOB_ENDPOINT": "ftp://x"}, "AZURE_BLOB_ENDPOINT must be an http(s) URL"},
		{map[string]string{"AZURE_BLOB_ACCOUNT_NAME": "a", "AZURE_BLOB_CONTAINER": "c", "AZURE_BLOB_ACCOUNT_KEY": "not base64!"}, "AZURE_BLOB_ACCOUNT_KEY must be the base64"},
		{map[string]string{"SUPERVISOR_SSH_PORT": "70000"}, "SUPERVISOR_SSH_PORT must be an integer from 1 to 65535"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Fatalf("want exactly one error, got %d: %v", n, err)
			}
		})
	}
}

func TestNonLoopbackWithToken(t *testing.T) {
	c, err := Load(env(map[string]string{"SUPERVISOR_HTTP_ADDR": "0.0.0.0:9000", "SUPERVISOR_HTTP_TOKEN": "t0ken"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPToken.String() == "t0ken" || c.HTTPToken.Reveal() != "t0ken" {
		t.Fatal("token must be hidden but revealable")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9000": true, "[::1]:9000": true, "localhost:1": true,
		"0.0.0.0:9000": false, ":9000": false, "10.0.0.1:80": false, "bad": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func TestMountBesideTheWorkspaceIsFine(t *testing.T) {
	for _, mount := range []string{"/workspace-backups", "/mnt/backups", "/"} {
		env := env(map[string]string{"SUPERVISOR_BACKUP_MOUNT_PATH": mount, "SUPERVISOR_BACKUP_VERIFY_INTERVAL": "0"})
		c, err := Load(env)
		if mount == "/" {
			if err != nil {
				t.Errorf("a mount holding the workspace is not inside it: %v", err)
			}
			continue
		}
		if err != nil || c.Backup.MountPath != mount || c.Backup.VerifyInterval != 0 {
			t.Errorf("%s: %+v %v", mount, c.Backup, err)
		}
	}
}
