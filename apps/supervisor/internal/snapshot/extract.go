package snapshot

import (
	"archive/tar"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/klauspost/compress/zstd"

	"github.com/dev8/images/apps/supervisor/internal/xio"
)

// localError marks a failure to write the restored tree (disk full, ...).
type localError struct{ err error }

func (l localError) Error() string { return l.err.Error() }
func (l localError) Unwrap() error { return l.err }

// member is the outcome of extracting the last tar member with a name.
type member struct {
	ok  bool
	why string
}

// extract restores the files of archive id that are wanted, segment by
// segment (a segment runs from one sync point to the next). Without
// SkipCorrupt any damage is an error; with it, a damaged segment is
// skipped and the files it held are added to lost.
func (r *restorer) extract(ctx context.Context, id string, want map[string]*Entry, lost map[string]bool) error {
	rc, err := r.open(ctx, id)
	if errors.Is(err, fs.ErrNotExist) {
		err = r.tolerate(fmt.Errorf("%w: archive %s is missing: %v", ErrCorrupt, id, err))
		for name := range want {
			r.lose(name, want[name], lost)
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: open archive %s: %v", ErrTransport, id, err)
	}
	defer rc.Close()
	src := &xio.Source{R: xio.CtxReader{Ctx: ctx, R: rc}}
	info := r.m.Archives[id]
	bounds := append(append([]int64{}, info.Sync...), info.Size)
	if len(info.Sync) == 0 || info.Sync[0] != 0 {
		bounds = append([]int64{0}, bounds...)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer dec.Close()
	got := map[string]member{}
	buf := make([]byte, 256<<10)
	for i := 0; i+1 < len(bounds); i++ {
		seg := io.LimitReader(src, bounds[i+1]-bounds[i])
		err := r.segment(dec, seg, want, got, buf)
		_, derr := io.CopyBuffer(io.Discard, seg, buf) // skip what a damaged segment left
		if err == nil {
			err = derr
		}
		if err := r.tolerate(r.classify(ctx, id, src, err)); err != nil {
			return err
		}
	}
	if extra, _ := io.CopyBuffer(io.Discard, src, buf); src.N != info.Size || extra > 0 {
		err := fmt.Errorf("archive has %d bytes, the manifest says %d", src.N, info.Size)
		if err := r.tolerate(r.classify(ctx, id, src, err)); err != nil {
			return err
		}
	}
	for name, e := range want {
		if m := got[name]; !m.ok {
			if !r.opt.SkipCorrupt {
				why := m.why
				if why == "" {
					why = "missing from the archive"
				}
				return fmt.Errorf("%w: archive %s: %q: %s", ErrCorrupt, id, name, why)
			}
			r.lose(name, e, lost)
		}
	}
	return nil
}

// lose records a file that cannot be restored and removes what was
// written of it.
func (r *restorer) lose(name string, e *Entry, lost map[string]bool) {
	lost[name] = true
	os.Remove(r.at(r.staging, e.Path))
}

// classify names an extraction error: cancelled, a transport failure, a
// local write failure, or damage.
func (r *restorer) classify(ctx context.Context, id string, src *xio.Source, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case src.Err != nil:
		return fmt.Errorf("%w: reading archive %s: %v (the snapshot may be intact: try again)", ErrTransport, id, src.Err)
	case errors.As(err, new(localError)):
		return err
	}
	return fmt.Errorf("%w: archive %s: %v", ErrCorrupt, id, err)
}

// tolerate drops damage errors when the restore skips damaged files.
func (r *restorer) tolerate(err error) error {
	if r.opt.SkipCorrupt && errors.Is(err, ErrCorrupt) {
		return nil
	}
	return err
}

// segment extracts the wanted members of one segment. A later member with
// the same name replaces an earlier one (a file read again because it
// changed while it was archived).
func (r *restorer) segment(dec *zstd.Decoder, seg io.Reader, want map[string]*Entry, got map[string]member, buf []byte) error {
	if err := dec.Reset(seg); err != nil {
		return err
	}
	tr := tar.NewReader(dec)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		e, ok := want[hdr.Name]
		if !ok {
			continue
		}
		m, err := writeMember(r.at(r.staging, e.Path), tr, e, buf)
		got[hdr.Name] = m
		if err != nil {
			return err
		}
	}
	_, err := io.CopyBuffer(io.Discard, dec, buf) // decodes the rest: damage there is an error too
	return err
}

// writeMember writes one member to p and checks it against e. A checksum
// mismatch is recorded in the result, not returned: a later member may
// hold the good copy.
func writeMember(p string, r io.Reader, e *Entry, buf []byte) (member, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return member{}, localError{err}
	}
	h, want := e.checksum()
	fw := &fileWriter{f: f}
	n, err := io.CopyBuffer(io.MultiWriter(fw, h), r, buf)
	if cerr := f.Close(); fw.err == nil && cerr != nil {
		fw.err = cerr
	}
	if fw.err != nil {
		return member{}, localError{fmt.Errorf("write %q: %w", e.Path, fw.err)}
	}
	if err != nil {
		return member{why: err.Error()}, fmt.Errorf("%q: %w", e.Path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != e.Size || sum != want {
		return member{why: fmt.Sprintf("got %d bytes with checksum %s, the manifest says %d bytes with %s", n, sum, e.Size, want)}, nil
	}
	return member{ok: true}, nil
}

// fileWriter keeps the first write error, so that it is not mistaken for
// damage in the archive.
type fileWriter struct {
	f   *os.File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}
