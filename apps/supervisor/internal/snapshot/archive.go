package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/zeebo/xxh3"
)

const (
	// maxReads bounds the attempts at reading a file that keeps changing.
	maxReads = 3
	// DefaultSettle is how long after its last change a file is taken to be
	// at rest: a write() may still be copying data for a while after it has
	// updated the file's ctime, so a file changed more recently than this is
	// read later in the run.
	DefaultSettle = time.Second
)

// ArchiveWriter streams file contents into an archive: a tar stream in
// independent zstd frames (see ArchiveInfo).
type ArchiveWriter struct {
	Root string
	FS   FS
	// Workers compressing frames; 0 means GOMAXPROCS.
	Workers int
	// Settle is how long a file must have been left alone before it is
	// read; 0 means DefaultSettle.
	Settle time.Duration
}

// ArchiveResult is what Write did besides writing.
type ArchiveResult struct {
	Info ArchiveInfo
	// Skipped maps the index of each file left out (it vanished or could
	// not be read) to the reason.
	Skipped map[int]string
}

// Write archives entries[i] for every i in idx into w under archive id.
// For each file it stores the content read and fills in the entry's
// metadata (as seen when the file was opened), XXH3 and Archive. A file
// that changes while it is read is read again later in the run (up to
// maxReads times) and flagged Inconsistent if it never holds still; every
// attempt is a tar member and the last one of a name is the one that
// counts. Files are read and hashed straight into the frames on this
// goroutine; Workers others compress the frames.
func (a *ArchiveWriter) Write(ctx context.Context, w io.Writer, id string, entries []Entry, idx []int) (ArchiveResult, error) {
	ar := &archiver{ArchiveWriter: *a, id: id, entries: entries, skipped: map[int]string{}, sum: xxh3.New128()}
	if ar.FS == nil {
		ar.FS = OSFS{}
	}
	if ar.Workers <= 0 {
		ar.Workers = runtime.GOMAXPROCS(0)
	}
	if ar.Settle <= 0 {
		ar.Settle = DefaultSettle
	}
	fw, err := newFrameWriter(w, ar.Workers)
	if err != nil {
		return ArchiveResult{}, err
	}
	ar.fw = fw
	err = ar.run(ctx, idx)
	if err == nil {
		_, err = fw.Write(make([]byte, 2*blockSize)) // the tar trailer
	}
	info, cerr := fw.Close()
	if err == nil {
		err = cerr
	}
	return ArchiveResult{Info: info, Skipped: ar.skipped}, err
}

const blockSize = 512 // tar's

type archiver struct {
	ArchiveWriter
	id      string
	entries []Entry
	fw      *frameWriter
	skipped map[int]string
	sum     hash.Hash
	hdr     bytes.Buffer
}

// run reads the files in rounds: a file that changed too recently, or
// changed while it was read, is put off to the next round, after a pause
// that lets it settle. The last round reads whatever it finds and flags
// what is still changing.
func (a *archiver) run(ctx context.Context, idx []int) error {
	pending := idx
	for round := 1; len(pending) > 0; round++ {
		var later []int
		var wake time.Time
		for _, i := range pending {
			if err := ctx.Err(); err != nil {
				return err
			}
			at, err := a.file(i, round == maxReads)
			if err != nil {
				return err
			}
			if !at.IsZero() {
				later = append(later, i)
				wake = maxTime(wake, at)
			}
		}
		if len(later) > 0 {
			t := time.NewTimer(min(time.Until(wake), a.Settle))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		pending = later
	}
	return ctx.Err()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// file makes one attempt at file i. It returns a non-zero time when the
// file is to be read again in a later round, not before that time; an
// error only when the archive itself cannot be written.
func (a *archiver) file(i int, last bool) (time.Time, error) {
	p := filepath.Join(a.Root, filepath.FromSlash(a.entries[i].Path))
	f, info, err := a.open(p)
	if err != nil {
		a.skipped[i] = Reason(err)
		return time.Time{}, nil
	}
	defer f.Close()
	changed := ctimeOf(info)
	racy := time.Since(changed) < a.Settle
	if racy && !last {
		return changed.Add(a.Settle), nil
	}
	e := &a.entries[i]
	meta := entryFromInfo(e.Path, info)
	e.Mode, e.UID, e.GID, e.Size, e.MTime, e.CTime = meta.Mode, meta.UID, meta.GID, meta.Size, meta.MTime, meta.CTime
	if err := a.header(e); err != nil {
		return time.Time{}, err
	}
	shrank, readErr := a.content(f, e.Size)
	if readErr != nil {
		a.skipped[i] = "read failed: " + Reason(readErr)
		return time.Time{}, a.fw.failed()
	}
	torn := shrank || a.changedSince(f, p, info)
	if torn && !last {
		return time.Now().Add(a.Settle), a.fw.failed()
	}
	e.XXH3, e.SHA256, e.Archive, e.Inconsistent = hex.EncodeToString(a.sum.Sum(nil)), "", a.id, torn || racy
	delete(a.skipped, i)
	return time.Time{}, a.fw.failed()
}

// open opens a file and reads its metadata from the open file.
func (a *archiver) open(p string) (io.ReadCloser, fs.FileInfo, error) {
	f, err := a.FS.Open(p)
	if err != nil {
		return nil, nil, err
	}
	info, err := a.stat(f, p)
	if err == nil && !info.Mode().IsRegular() {
		err = errors.New("no longer a regular file")
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

func (a *archiver) stat(f io.ReadCloser, p string) (fs.FileInfo, error) {
	if s, ok := f.(interface{ Stat() (fs.FileInfo, error) }); ok {
		return s.Stat()
	}
	return a.FS.Lstat(p)
}

// header starts a tar member for e in a frame of its own when the current
// one is big enough.
func (a *archiver) header(e *Entry) error {
	a.fw.Boundary()
	a.hdr.Reset()
	tw := tar.NewWriter(&a.hdr) // formats the header only; the content goes straight to the frames
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.Path, Size: e.Size, Mode: int64(e.Mode & 0o7777),
		ModTime: time.Unix(0, e.MTime), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive %q: %w", e.Path, err)
	}
	_, err := a.fw.Write(a.hdr.Bytes())
	return err
}

// content reads exactly size bytes of f straight into the frames, hashing
// them, then pads the member to a whole block. A file that ends early is
// padded with zeros (shrank); a read error pads the rest and is returned.
func (a *archiver) content(f io.Reader, size int64) (shrank bool, err error) {
	a.sum.Reset()
	left := size
	for left > 0 && err == nil {
		buf := a.fw.space(left)
		var n int
		n, err = io.ReadFull(f, buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			clear(buf[n:])
			n, shrank, err = len(buf), true, nil
		}
		a.sum.Write(buf[:n])
		a.fw.commit(n)
		left -= int64(n)
	}
	if err != nil {
		a.fw.zeros(left)
	}
	a.fw.zeros((blockSize - size%blockSize) % blockSize)
	return shrank, err
}

// changedSince reports whether the open file grew or its metadata changed
// after it was opened.
func (a *archiver) changedSince(f io.ReadCloser, p string, before fs.FileInfo) bool {
	var b [1]byte
	if n, _ := f.Read(b[:]); n > 0 {
		return true
	}
	after, err := a.stat(f, p)
	if err != nil {
		return true
	}
	return after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) ||
		!ctimeOf(after).Equal(ctimeOf(before)) || after.Mode() != before.Mode()
}

// ctimeOf is the time of the last change to the file's content or
// metadata (zero when the platform does not say).
func ctimeOf(info fs.FileInfo) time.Time {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Unix())
	}
	return time.Time{}
}
