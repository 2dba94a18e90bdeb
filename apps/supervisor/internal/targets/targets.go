// Package targets builds the configured backup stores.
package targets

import (
	"log/slog"

	"github.com/dev8/images/apps/supervisor/internal/config"
	"github.com/dev8/images/apps/supervisor/internal/store"
)

// Build returns every configured target, each wrapped with retries.
func Build(b config.BackupConfig, log *slog.Logger) ([]store.Store, error) {
	var out []store.Store
	wrap := func(s store.Store) { out = append(out, store.NewRetrying(s, b.MaxAttempts, log)) }
	if b.MountPath != "" {
		wrap(&store.Local{Dir: b.MountPath})
	}
	if s := b.S3; s != nil {
		wrap(store.NewS3(store.S3Options{Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint, Prefix: s.Prefix,
			AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey.Reveal(), Timeout: b.BackendTimeout}))
	}
	if a := b.Azure; a != nil {
		az, err := store.NewAzure(store.AzureOptions{AccountName: a.AccountName, AccountKey: a.AccountKey.Reveal(),
			Container: a.Container, Endpoint: a.Endpoint, Prefix: a.Prefix, Timeout: b.BackendTimeout})
		if err != nil {
			return nil, err
		}
		wrap(az)
	}
	return out, nil
}
