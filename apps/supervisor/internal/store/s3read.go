package store

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Get streams the object; a connection lost midway is resumed with a
// ranged request for the same version (If-Match on its ETag).
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	k := joinKey(s.prefix, key)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return nil, classifyS3(err)
	}
	return &s3Reader{ctx: ctx, s: s, key: k, etag: out.ETag, body: out.Body}, nil
}

type s3Reader struct {
	ctx      context.Context
	s        *S3
	key      string
	etag     *string
	off      int64
	body     io.ReadCloser
	failures int
	err      error // set once resuming failed: every later read returns it
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == nil || err == io.EOF || r.ctx.Err() != nil {
			return n, err
		}
		if r.failures++; r.failures >= r.s.attempts {
			r.err = fmt.Errorf("read %s: %w (gave up after %d attempts)", r.key, err, r.failures)
			return n, r.err
		}
		r.body.Close()
		if serr := sleep(r.ctx, backoff(r.failures)); serr != nil {
			return n, serr
		}
		out, gerr := r.s.client.GetObject(r.ctx, &s3.GetObjectInput{Bucket: &r.s.bucket, Key: &r.key, IfMatch: r.etag,
			Range: aws.String(fmt.Sprintf("bytes=%d-", r.off))})
		if gerr != nil {
			r.body = io.NopCloser(bytes.NewReader(nil))
			r.err = fmt.Errorf("resume %s at byte %d after %v: %w", r.key, r.off, err, classifyS3(gerr))
			return n, r.err
		}
		r.body = out.Body
		if n > 0 {
			return n, nil
		}
	}
}

func (r *s3Reader) Close() error { return r.body.Close() }
