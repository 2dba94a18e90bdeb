// Package store implements the backup targets: a mounted volume, S3 and
// Azure Blob Storage. Every put is atomic: an object is either absent or
// complete. Every request to S3 and Azure has a progress deadline and is
// retried by the SDK's own retry policy.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Object describes a stored object.
type Object struct {
	Key  string
	Size int64
	// Version changes whenever the object is written again (the ETag on
	// S3 and Azure; the inode, size and times of a file on a mount).
	Version string
}

// Store is one backup target.
type Store interface {
	// Name identifies the target in logs and status ("mount", "s3", "azure").
	Name() string
	// PutFile stores the file at path under key, atomically.
	PutFile(ctx context.Context, key, path string) (Object, error)
	// PutBytes stores data under key, atomically.
	PutBytes(ctx context.Context, key string, data []byte) error
	// Get opens the object at key; a missing key gives an error wrapping
	// ErrNotFound. A connection lost while reading is resumed where the
	// backend allows it.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the objects under prefix, in any order.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// UploadCleaner is implemented by stores whose interrupted uploads leave
// hidden data behind (S3 multipart uploads).
type UploadCleaner interface {
	// AbortStaleUploads aborts the uploads under prefix started before
	// before, and returns how many it aborted.
	AbortStaleUploads(ctx context.Context, prefix string, before time.Time) (int, error)
}

// Sweeper is implemented by stores that can leave temporary files behind
// when the process is killed mid-write.
type Sweeper interface {
	SweepTemp(age time.Duration) error
}

// ErrNotFound is wrapped by Get for a missing key. It wraps
// fs.ErrNotExist, so that packages that do not know this one can tell.
var ErrNotFound = fmt.Errorf("not found (%w)", fs.ErrNotExist)

// DefaultAttempts is the number of attempts per request when none is set.
const DefaultAttempts = 5

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

// openFile opens a file to upload and returns its size.
func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, info.Size(), nil
}

// ignoreNotFound makes deleting a missing key a success.
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
