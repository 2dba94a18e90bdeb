package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Options configures an S3 or S3-compatible target.
type S3Options struct {
	Bucket, Region, Endpoint, Prefix string
	AccessKeyID, SecretAccessKey     string
	Timeout                          time.Duration     // progress deadline of every request
	MaxAttempts                      int               // attempts per request; 0 means DefaultAttempts
	Transport                        http.RoundTripper // nil means a clone of http.DefaultTransport
}

// S3 stores objects in an S3 bucket.
type S3 struct {
	client   *s3.Client
	uploader *manager.Uploader
	bucket   string
	prefix   string
	attempts int
}

// NewS3 builds the client with static credentials, the SDK's standard
// retryer and its transfer manager. With an endpoint override, path-style
// addressing is used (moto, MinIO and friends).
func NewS3(o S3Options) *S3 {
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	opts := s3.Options{
		Region:                     o.Region,
		Credentials:                credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, ""),
		HTTPClient:                 newHTTPClient(o.Timeout, o.Transport),
		Retryer:                    newS3Retryer(attempts),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(o.Endpoint)
		opts.UsePathStyle = true
	}
	client := s3.New(opts)
	// Parts are read from the file in place (it is an io.ReaderAt), not buffered.
	up := manager.NewUploader(client, func(u *manager.Uploader) { u.PartSize, u.Concurrency = 16<<20, 2 })
	return &S3{client: client, uploader: up, bucket: o.Bucket, prefix: o.Prefix, attempts: attempts}
}

// newS3Retryer is the SDK's standard retryer with attempts tries, an
// exponential backoff from 0.5 s to 10 s with jitter, and no client-side
// retry quota (a long outage must not use the retries up for later).
func newS3Retryer(attempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			return backoff(attempt), nil
		})
	})
}

// backoff is the wait before retry number attempt (1-based).
func backoff(attempt int) time.Duration {
	d := min(500*time.Millisecond<<min(attempt-1, 5), 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Client exposes the SDK client (tests use it to create buckets).
func (s *S3) Client() *s3.Client { return s.client }

// Name returns "s3".
func (s *S3) Name() string { return "s3" }

// PutFile uploads the file through the transfer manager: one request, or
// a multipart upload that is completed only once every part is stored
// (aborted when it fails).
func (s *S3) PutFile(ctx context.Context, key, path string) (Object, error) {
	f, size, err := openFile(path)
	if err != nil {
		return Object{}, err
	}
	defer f.Close()
	k := joinKey(s.prefix, key)
	out, err := s.uploader.Upload(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &k, Body: f})
	if err != nil {
		var mf manager.MultiUploadFailure
		if errors.As(err, &mf) {
			// The manager aborts with ctx, which may be over: abort again with a fresh one.
			abort, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			s.client.AbortMultipartUpload(abort, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &k, UploadId: aws.String(mf.UploadID())})
		}
		return Object{}, classifyS3(err)
	}
	return Object{Key: key, Size: size, Version: etag(out.ETag)}, nil
}

// PutBytes uploads data in one request.
func (s *S3) PutBytes(ctx context.Context, key string, data []byte) error {
	k := joinKey(s.prefix, key)
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &k, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data)))})
	return classifyS3(err)
}

func etag(p *string) string { return strings.Trim(aws.ToString(p), `"`) }

// List pages through the objects under prefix.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	p := joinKey(s.prefix, prefix)
	pager := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &p})
	var objs []Object
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classifyS3(err)
		}
		for _, o := range page.Contents {
			objs = append(objs, Object{Key: stripPrefix(s.prefix, aws.ToString(o.Key)), Size: aws.ToInt64(o.Size), Version: etag(o.ETag)})
		}
	}
	return objs, nil
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, key string) error {
	k := joinKey(s.prefix, key)
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &k})
	return ignoreNotFound(classifyS3(err))
}

// AbortStaleUploads aborts the multipart uploads under prefix that were
// started before before: those of runs that were killed or whose abort
// could not reach the backend.
func (s *S3) AbortStaleUploads(ctx context.Context, prefix string, before time.Time) (int, error) {
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: aws.String(joinKey(s.prefix, prefix))}
	aborted := 0
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return aborted, classifyS3(err)
		}
		for _, u := range out.Uploads {
			if u.Initiated != nil && !u.Initiated.Before(before) {
				continue
			}
			if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key,
				UploadId: u.UploadId}); err != nil && !errors.Is(classifyS3(err), ErrNotFound) {
				return aborted, classifyS3(err)
			}
			aborted++
		}
		if !aws.ToBool(out.IsTruncated) {
			return aborted, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// classifyS3 maps missing keys to ErrNotFound.
func classifyS3(err error) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchUpload":
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound && !strings.Contains(err.Error(), "NoSuchBucket") {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}
