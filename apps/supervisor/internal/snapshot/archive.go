package snapshot

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ArchiveWriter streams file contents into a zstd-compressed tar archive.
type ArchiveWriter struct {
	Root string
	FS   FS
	// Concurrency of the zstd encoder; 0 means GOMAXPROCS.
	Concurrency int
}

// Write archives entries[i] for every i in idx into w under archive id,
// filling in each entry's SHA256 and Archive. Files are read and hashed on
// one goroutine while this one tars and compresses (see reader.go). A file
// that changes size while it is read is stored as read (padded with zeros
// when it shrank) and its mtime is cleared so that the next snapshot reads
// it again.
func (a *ArchiveWriter) Write(ctx context.Context, w io.Writer, id string, entries []Entry, idx []int) (ArchiveInfo, error) {
	fsys := a.FS
	if fsys == nil {
		fsys = OSFS{}
	}
	out := &counter{w: w}
	opts := []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault)}
	if a.Concurrency > 0 {
		opts = append(opts, zstd.WithEncoderConcurrency(a.Concurrency))
	}
	zw, err := zstd.NewWriter(out, opts...)
	if err != nil {
		return ArchiveInfo{}, err
	}
	defer zw.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rd := startReader(ctx, fsys, a.Root, entries, idx)
	defer rd.wait()
	tw := tar.NewWriter(zw)
	for c := range rd.chunks {
		if c.err != nil {
			return ArchiveInfo{}, c.err
		}
		if err := writeChunk(tw, &entries[c.idx], id, c); err != nil {
			return ArchiveInfo{}, err
		}
		rd.release(c.data)
	}
	if err := ctx.Err(); err != nil {
		return ArchiveInfo{}, err
	}
	if err := tw.Close(); err != nil {
		return ArchiveInfo{}, err
	}
	if err := zw.Close(); err != nil {
		return ArchiveInfo{}, err
	}
	return ArchiveInfo{Size: out.n}, nil
}

func writeChunk(tw *tar.Writer, e *Entry, id string, c chunk) error {
	if c.first {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.Path, Size: e.Size, Mode: int64(e.Mode & 0o7777),
			ModTime: time.Unix(0, e.MTime), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive %s: %w", e.Path, err)
		}
	}
	if _, err := tw.Write(c.data); err != nil {
		return fmt.Errorf("archive %s: %w", e.Path, err)
	}
	if c.last {
		e.SHA256, e.Archive = c.sum, id
		if c.changed {
			e.MTime = 0
		}
	}
	return nil
}
