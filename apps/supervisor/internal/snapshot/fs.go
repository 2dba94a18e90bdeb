package snapshot

import (
	"io"
	"io/fs"
	"os"
	"syscall"
)

// FS is the read side of the filesystem the scanner and archiver use.
// Paths are absolute OS paths. OSFS is the production implementation.
type FS interface {
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Readlink(name string) (string, error)
	// Open opens a file for reading. When the result has a
	// Stat() (fs.FileInfo, error) method (as *os.File does) the archiver
	// uses it to notice files that change while they are read.
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

// Open opens name without following a final symlink and without blocking
// (a path replaced by a symlink or a fifo since the scan must not make the
// archiver read elsewhere or hang).
func (OSFS) Open(name string) (io.ReadCloser, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
