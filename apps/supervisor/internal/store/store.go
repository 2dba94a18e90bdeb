// Package store implements the backup targets: a mounted volume, S3 and
// Azure Blob Storage. Every Put is atomic: an object is either absent or
// complete.
package store

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// Store is one backup target.
type Store interface {
	// Name identifies the target in logs and status ("mount", "s3", "azure").
	Name() string
	// Put stores size bytes read from r under key, atomically. r is rewound
	// by the retry layer between attempts.
	Put(ctx context.Context, key string, r io.ReadSeeker, size int64) error
	// Get opens the object at key; a missing key gives an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys under prefix, in any order.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrNotFound is wrapped by Get for a missing key.
var ErrNotFound = errors.New("not found")

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying (disk full, access denied, ...).
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent or is a
// not-found error. (A timeout is not: it matches context.DeadlineExceeded
// but is transient; the retry loop checks its own context instead.)
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) || errors.Is(err, ErrNotFound)
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "/" + key
}

func stripPrefix(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return key[min(len(key), len(prefix)+1):]
}

// FilePutter is implemented by stores that can take a finished local file
// more cheaply than by streaming it (a hard link on the same filesystem).
type FilePutter interface {
	PutFile(ctx context.Context, key, path string, size int64) error
}

// PutFile stores the file at path under key, through FilePutter when s has it.
func PutFile(ctx context.Context, s Store, key, path string, size int64) error {
	if fp, ok := s.(FilePutter); ok {
		return fp.PutFile(ctx, key, path, size)
	}
	f, err := os.Open(path)
	if err != nil {
		return Permanent(err)
	}
	defer f.Close()
	return s.Put(ctx, key, f, size)
}

// Sweeper is implemented by stores that can leave temporary files behind
// when the process is killed mid-write.
type Sweeper interface {
	SweepTemp(age time.Duration) error
}

// ignoreNotFound makes deleting a missing key a success.
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
