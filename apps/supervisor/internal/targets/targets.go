// Package targets builds the configured backup stores.
package targets

import (
	"github.com/dev8/images/apps/supervisor/internal/config"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// Build returns every configured target, in the order mount, s3, azure.
// S3 and Azure retry each request (SUPERVISOR_BACKUP_MAX_ATTEMPTS) with
// their SDK's retry policy and fail requests that stall
// (SUPERVISOR_BACKUP_BACKEND_TIMEOUT).
func Build(b config.BackupConfig) ([]store.Store, error) {
	var out []store.Store
	if b.MountPath != "" {
		out = append(out, &store.Local{Dir: b.MountPath})
	}
	if s := b.S3; s != nil {
		out = append(out, store.NewS3(store.S3Options{Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint, Prefix: s.Prefix,
			AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey.Reveal(), Timeout: b.BackendTimeout,
			MaxAttempts: b.MaxAttempts}))
	}
	if a := b.Azure; a != nil {
		az, err := store.NewAzure(store.AzureOptions{AccountName: a.AccountName, AccountKey: a.AccountKey.Reveal(),
			Container: a.Container, Endpoint: a.Endpoint, Prefix: a.Prefix, Timeout: b.BackendTimeout, MaxAttempts: b.MaxAttempts})
		if err != nil {
			return nil, err
		}
		out = append(out, az)
	}
	return out, nil
}
