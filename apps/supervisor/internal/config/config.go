// Package config loads the supervisor's settings from the environment.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Config holds every setting of the supervisor. It is built only by Load.
type Config struct {
	Enabled         bool
	LogFormat       string // "json" or "text"
	LogLevel        string // "debug", "info", "warn", "error"
	WorkspaceDir    string
	StateDir        string
	ShutdownTimeout time.Duration

	HTTPEnabled bool
	HTTPAddr    string
	HTTPToken   Secret

	ActivityPollInterval time.Duration
	SSHPort              int
	IDEPort              int

	Backup BackupConfig
}

// BackupConfig holds the backup schedule, policy and targets.
type BackupConfig struct {
	Enabled        bool
	Interval       time.Duration
	KeepLast       int
	KeepDaily      int
	Excludes       []string
	MaxAttempts    int
	BackendTimeout time.Duration
	VerifyInterval time.Duration // 0: never read archives back on a schedule

	MountPath string
	S3        *S3Config
	Azure     *AzureConfig
}

// S3Config configures an S3 or S3-compatible target.
type S3Config struct {
	Bucket          string
	Region          string
	Endpoint        string
	Prefix          string
	AccessKeyID     string
	SecretAccessKey Secret
}

// AzureConfig configures an Azure Blob Storage target.
type AzureConfig struct {
	AccountName string
	AccountKey  Secret
	Container   string
	Endpoint    string
	Prefix      string
}

// HasTarget reports whether at least one backup target is configured.
func (b BackupConfig) HasTarget() bool {
	return b.MountPath != "" || b.S3 != nil || b.Azure != nil
}

// Secret is a string that never prints its value.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue hides the value from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText hides the value from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the value, for passing to an SDK.
func (s Secret) Reveal() string { return string(s) }

// Load reads the configuration through getenv (os.Getenv in production)
// and validates it. All problems are returned joined, each naming its variable.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		Enabled:              r.boolean("SUPERVISOR_ENABLED", true),
		LogFormat:            r.oneOf("SUPERVISOR_LOG_FORMAT", "json", "json", "text"),
		LogLevel:             r.oneOf("SUPERVISOR_LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		WorkspaceDir:         r.path("SUPERVISOR_WORKSPACE_DIR", "/workspace"),
		StateDir:             r.path("SUPERVISOR_STATE_DIR", "/tmp/workspace-supervisor"),
		ShutdownTimeout:      r.duration("SUPERVISOR_SHUTDOWN_TIMEOUT", 8*time.Second, time.Second, time.Hour),
		HTTPEnabled:          r.boolean("SUPERVISOR_HTTP_ENABLED", true),
		HTTPAddr:             r.str("SUPERVISOR_HTTP_ADDR", "127.0.0.1:9000"),
		HTTPToken:            Secret(r.str("SUPERVISOR_HTTP_TOKEN", "")),
		ActivityPollInterval: r.duration("SUPERVISOR_ACTIVITY_POLL_INTERVAL", 30*time.Second, 100*time.Millisecond, time.Hour),
		SSHPort:              r.integer("SUPERVISOR_SSH_PORT", 2222, 1, 65535),
		IDEPort:              r.integer("SUPERVISOR_IDE_PORT", 8080, 1, 65535),
	}
	c.Backup = loadBackup(&r)
	r.notInside("SUPERVISOR_BACKUP_MOUNT_PATH", c.Backup.MountPath, "SUPERVISOR_WORKSPACE_DIR", c.WorkspaceDir)
	r.notInside("SUPERVISOR_STATE_DIR", c.StateDir, "SUPERVISOR_WORKSPACE_DIR", c.WorkspaceDir)
	if c.HTTPEnabled {
		r.checkListen("SUPERVISOR_HTTP_ADDR", c.HTTPAddr, c.HTTPToken != "")
	}
	if c.Enabled && c.Backup.Enabled && !c.Backup.HasTarget() {
		r.fail("BACKUP_ENABLED", "is true but no target is configured: set SUPERVISOR_BACKUP_MOUNT_PATH, "+
			"AWS_S3_BUCKET (with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or "+
			"AZURE_BLOB_ACCOUNT_NAME (with AZURE_BLOB_ACCOUNT_KEY and AZURE_BLOB_CONTAINER)")
	}
	if len(r.errs) > 0 {
		return Config{}, fmt.Errorf("config: %w", errors.Join(r.errs...))
	}
	return c, nil
}

const year = 365 * 24 * time.Hour

func loadBackup(r *reader) BackupConfig {
	b := BackupConfig{
		Enabled:        r.boolean("BACKUP_ENABLED", false),
		Interval:       r.duration("SUPERVISOR_BACKUP_INTERVAL", 300*time.Second, time.Second, year),
		KeepLast:       r.integer("SUPERVISOR_BACKUP_KEEP_LAST", 10, 1, 100000),
		KeepDaily:      r.integer("SUPERVISOR_BACKUP_KEEP_DAILY", 7, 0, 100000),
		Excludes:       r.list("SUPERVISOR_BACKUP_EXCLUDE"),
		MaxAttempts:    r.integer("SUPERVISOR_BACKUP_MAX_ATTEMPTS", 5, 1, 100),
		BackendTimeout: r.duration("SUPERVISOR_BACKUP_BACKEND_TIMEOUT", 60*time.Second, 100*time.Millisecond, time.Hour),
		VerifyInterval: r.duration("SUPERVISOR_BACKUP_VERIFY_INTERVAL", 24*time.Hour, 0, year),
		MountPath:      r.path("SUPERVISOR_BACKUP_MOUNT_PATH", ""),
	}
	b.S3 = loadS3(r)
	b.Azure = loadAzure(r)
	return b
}

func loadS3(r *reader) *S3Config {
	s := &S3Config{
		Bucket:          r.str("AWS_S3_BUCKET", ""),
		Region:          r.str("AWS_REGION", r.str("AWS_DEFAULT_REGION", "us-east-1")),
		Endpoint:        r.url("AWS_S3_ENDPOINT"),
		Prefix:          strings.Trim(r.str("AWS_S3_PREFIX", ""), "/"),
		AccessKeyID:     r.str("AWS_ACCESS_KEY_ID", ""),
		SecretAccessKey: Secret(r.str("AWS_SECRET_ACCESS_KEY", "")),
	}
	if s.Bucket == "" {
		return nil
	}
	r.require("AWS_ACCESS_KEY_ID", s.AccessKeyID, "AWS_S3_BUCKET")
	r.require("AWS_SECRET_ACCESS_KEY", string(s.SecretAccessKey), "AWS_S3_BUCKET")
	return s
}

func loadAzure(r *reader) *AzureConfig {
	a := &AzureConfig{
		AccountName: r.str("AZURE_BLOB_ACCOUNT_NAME", ""),
		AccountKey:  Secret(r.str("AZURE_BLOB_ACCOUNT_KEY", "")),
		Container:   r.str("AZURE_BLOB_CONTAINER", ""),
		Endpoint:    r.url("AZURE_BLOB_ENDPOINT"),
		Prefix:      strings.Trim(r.str("AZURE_BLOB_PREFIX", ""), "/"),
	}
	if a.AccountName == "" && a.Container == "" {
		return nil
	}
	r.require("AZURE_BLOB_ACCOUNT_NAME", a.AccountName, "AZURE_BLOB_CONTAINER")
	r.require("AZURE_BLOB_ACCOUNT_KEY", string(a.AccountKey), "AZURE_BLOB_ACCOUNT_NAME")
	r.require("AZURE_BLOB_CONTAINER", a.Container, "AZURE_BLOB_ACCOUNT_NAME")
	if _, err := base64.StdEncoding.DecodeString(a.AccountKey.Reveal()); a.AccountKey != "" && err != nil {
		r.fail("AZURE_BLOB_ACCOUNT_KEY", "must be the base64 access key of the storage account (value not shown)")
	}
	return a
}

// IsLoopback reports whether addr (host:port) binds only to a loopback interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
