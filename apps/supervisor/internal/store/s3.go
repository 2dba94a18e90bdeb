package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3PartSize is the multipart chunk size; smaller objects use one PutObject.
const s3PartSize = 16 << 20

// S3Options configures an S3 or S3-compatible target.
type S3Options struct {
	Bucket, Region, Endpoint, Prefix string
	AccessKeyID, SecretAccessKey     string
	Timeout                          time.Duration // response header timeout
}

// S3 stores objects in an S3 bucket.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string
}

// NewS3 builds the client with static credentials. With an endpoint
// override, path-style addressing is used (moto, MinIO and friends).
func NewS3(o S3Options) *S3 {
	opts := s3.Options{
		Region:                     o.Region,
		Credentials:                credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, ""),
		HTTPClient:                 newHTTPClient(o.Timeout),
		Retryer:                    aws.NopRetryer{}, // Retrying does the retries
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(o.Endpoint)
		opts.UsePathStyle = true
	}
	return &S3{client: s3.New(opts), bucket: o.Bucket, prefix: o.Prefix}
}

// Client exposes the SDK client (tests use it to create buckets).
func (s *S3) Client() *s3.Client { return s.client }

// Name returns "s3".
func (s *S3) Name() string { return "s3" }

// Put uploads r in one request, or as a multipart upload that is completed
// only after every part is stored, so the object never appears partially.
func (s *S3) Put(ctx context.Context, key string, r io.ReadSeeker, size int64) error {
	k := joinKey(s.prefix, key)
	if size <= s3PartSize {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &k, Body: r, ContentLength: &size})
		return classifyS3(err)
	}
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return classifyS3(err)
	}
	parts, err := s.uploadParts(ctx, k, up.UploadId, r, size)
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: &k, UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	}
	if err != nil {
		abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		s.client.AbortMultipartUpload(abortCtx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &k, UploadId: up.UploadId})
	}
	return classifyS3(err)
}

func (s *S3) uploadParts(ctx context.Context, k string, id *string, r io.Reader, size int64) ([]types.CompletedPart, error) {
	var parts []types.CompletedPart
	buf := make([]byte, s3PartSize)
	for n := int32(1); size > 0; n++ {
		chunk := min(size, s3PartSize)
		if _, err := io.ReadFull(r, buf[:chunk]); err != nil {
			return nil, Permanent(fmt.Errorf("read part %d: %w", n, err))
		}
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.bucket, Key: &k, UploadId: id,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(buf[:chunk]), ContentLength: aws.Int64(chunk)})
		if err != nil {
			return nil, err
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		size -= chunk
	}
	return parts, nil
}

// Get streams the object.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	k := joinKey(s.prefix, key)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return nil, classifyS3(err)
	}
	return out.Body, nil
}

// List pages through the keys under prefix.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	p := joinKey(s.prefix, prefix)
	pager := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &p})
	var keys []string
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classifyS3(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, stripPrefix(s.prefix, aws.ToString(o.Key)))
		}
	}
	return keys, nil
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, key string) error {
	k := joinKey(s.prefix, key)
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &k})
	return ignoreNotFound(classifyS3(err))
}

// classifyS3 maps missing keys to ErrNotFound and authorization or
// configuration failures to permanent errors.
func classifyS3(err error) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		case "RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable":
			return err // transient, even when the status is 400
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
			"AllAccessDisabled", "InvalidBucketName", "AccountProblem", "EntityTooLarge":
			return Permanent(err)
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
			return Permanent(err)
		}
	}
	return err
}
