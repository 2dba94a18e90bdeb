// Package xio holds small io helpers shared by the snapshot, store and
// backup packages.
package xio

import (
	"context"
	"io"
)

// CtxReader stops a long copy when Ctx is cancelled.
type CtxReader struct {
	Ctx context.Context
	R   io.Reader
}

// Read fails with the context's error once it is done.
func (c CtxReader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}

// Source reads from R, counting the bytes in N and keeping R's first error
// (other than EOF) in Err, so that a caller can tell a failure to read the
// source (a transport problem) from damage in what was read.
type Source struct {
	R   io.Reader
	N   int64
	Err error
}

func (s *Source) Read(p []byte) (int, error) {
	n, err := s.R.Read(p)
	s.N += int64(n)
	if err != nil && err != io.EOF && s.Err == nil {
		s.Err = err
	}
	return n, err
}
