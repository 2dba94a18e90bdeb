package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
)

const (
	chunkSize   = 1 << 20
	chunksAhead = 16 // read-ahead bound: chunksAhead MiB in flight
)

// chunk is a piece of one file's content, in order.
type chunk struct {
	idx         int // index into entries
	data        []byte
	first, last bool
	sum         string // on the last chunk: SHA-256 of the whole content
	changed     bool   // on the last chunk: the file changed size while read
	err         error
}

// reader reads and hashes files on its own goroutine, ahead of the writer.
type reader struct {
	chunks chan chunk
	free   chan []byte
	done   chan struct{}
}

func startReader(ctx context.Context, fsys FS, root string, entries []Entry, idx []int) *reader {
	r := &reader{chunks: make(chan chunk, chunksAhead), free: make(chan []byte, chunksAhead+2), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer close(r.chunks)
		for _, i := range idx {
			if err := r.readFile(ctx, fsys, root, i, entries[i]); err != nil {
				r.send(ctx, chunk{idx: i, err: err})
				return
			}
		}
	}()
	return r
}

// wait drains and waits for the reader goroutine (after ctx is cancelled).
func (r *reader) wait() {
	for range r.chunks {
	}
	<-r.done
}

func (r *reader) release(b []byte) {
	select {
	case r.free <- b[:0]:
	default:
	}
}

func (r *reader) buffer() []byte {
	select {
	case b := <-r.free:
		return b[:chunkSize]
	default:
		return make([]byte, chunkSize)
	}
}

func (r *reader) send(ctx context.Context, c chunk) bool {
	select {
	case r.chunks <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

// readFile sends exactly e.Size bytes of the file: what it reads, padded
// with zeros if the file shrank, cut if it grew.
func (r *reader) readFile(ctx context.Context, fsys FS, root string, i int, e Entry) error {
	f, err := fsys.Open(filepath.Join(root, filepath.FromSlash(e.Path)))
	if err != nil {
		return fmt.Errorf("archive %s: %w", e.Path, err)
	}
	defer f.Close()
	h := sha256.New()
	left, changed, first := e.Size, false, true
	for left > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf := r.buffer()[:min(left, chunkSize)]
		n, err := io.ReadFull(f, buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			clear(buf[n:])
			changed, err = true, nil
		}
		if err != nil {
			return fmt.Errorf("archive %s: %w", e.Path, err)
		}
		h.Write(buf)
		left -= int64(len(buf))
		c := chunk{idx: i, data: buf, first: first, last: left == 0}
		if c.last {
			c.changed = changed || grew(f)
			c.sum = hex.EncodeToString(h.Sum(nil))
		}
		if !r.send(ctx, c) {
			return ctx.Err()
		}
		first = false
	}
	return nil
}

func grew(r io.Reader) bool {
	var b [1]byte
	n, _ := r.Read(b[:])
	return n > 0
}
