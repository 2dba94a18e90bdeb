// Package xio holds small io helpers shared by the snapshot and store packages.
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
