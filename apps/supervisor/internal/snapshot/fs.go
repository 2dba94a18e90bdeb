package snapshot

import (
	"io"
	"io/fs"
	"os"
)

// FS is the read side of the filesystem the scanner and archiver use.
// Paths are absolute OS paths. OSFS is the production implementation.
type FS interface {
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Readlink(name string) (string, error)
	Open(name string) (io.ReadCloser, error)
}

// OSFS reads the real filesystem.
type OSFS struct{}

// Lstat calls os.Lstat.
func (OSFS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }

// ReadDir calls os.ReadDir.
func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// Readlink calls os.Readlink.
func (OSFS) Readlink(name string) (string, error) { return os.Readlink(name) }

// Open calls os.Open.
func (OSFS) Open(name string) (io.ReadCloser, error) { return os.Open(name) }
