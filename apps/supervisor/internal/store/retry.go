package store

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Retrying wraps a Store and retries transient errors with exponential
// backoff and jitter. Permanent errors are returned at once.
type Retrying struct {
	Store
	Attempts int           // total attempts, at least 1
	Base     time.Duration // first backoff
	Max      time.Duration // backoff cap
	Log      *slog.Logger
	// Sleep waits d or until ctx ends; injectable for tests.
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewRetrying returns s with the default backoff (0.5 s doubling to 10 s).
func NewRetrying(s Store, attempts int, log *slog.Logger) *Retrying {
	return &Retrying{Store: s, Attempts: attempts, Base: 500 * time.Millisecond, Max: 10 * time.Second, Log: log}
}

func (r *Retrying) do(ctx context.Context, op, key string, f func() error) error {
	var err error
	backoff := r.Base
	for attempt := 1; ; attempt++ {
		if err = f(); err == nil || IsPermanent(err) || ctx.Err() != nil || attempt >= r.Attempts {
			return err
		}
		d := backoff/2 + rand.N(backoff/2+1)
		if r.Log != nil {
			r.Log.Warn("backend error, retrying", "target", r.Name(), "op", op, "key", key,
				"attempt", attempt, "backoff", d.String(), "error", err.Error())
		}
		if serr := r.sleep(ctx, d); serr != nil {
			return err
		}
		backoff = min(backoff*2, r.Max)
	}
}

func (r *Retrying) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Put retries the upload from the start of r.
func (r *Retrying) Put(ctx context.Context, key string, rs io.ReadSeeker, size int64) error {
	return r.do(ctx, "put", key, func() error {
		if _, err := rs.Seek(0, io.SeekStart); err != nil {
			return Permanent(err)
		}
		return r.Store.Put(ctx, key, rs, size)
	})
}

// Get retries opening the object.
func (r *Retrying) Get(ctx context.Context, key string) (rc io.ReadCloser, err error) {
	err = r.do(ctx, "get", key, func() error {
		rc, err = r.Store.Get(ctx, key)
		return err
	})
	return rc, err
}

// List retries the listing.
func (r *Retrying) List(ctx context.Context, prefix string) (keys []string, err error) {
	err = r.do(ctx, "list", prefix, func() error {
		keys, err = r.Store.List(ctx, prefix)
		return err
	})
	return keys, err
}

// Delete retries the deletion.
func (r *Retrying) Delete(ctx context.Context, key string) error {
	return r.do(ctx, "delete", key, func() error { return r.Store.Delete(ctx, key) })
}

// PutFile retries storing a local file, through the wrapped store's
// FilePutter when it has one.
func (r *Retrying) PutFile(ctx context.Context, key, path string, size int64) error {
	return r.do(ctx, "put", key, func() error { return PutFile(ctx, r.Store, key, path, size) })
}

// SweepTemp passes through to the wrapped store when it is a Sweeper.
func (r *Retrying) SweepTemp(age time.Duration) error {
	if s, ok := r.Store.(Sweeper); ok {
		return s.SweepTemp(age)
	}
	return nil
}
