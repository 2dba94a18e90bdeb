package backup

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// randomTree writes a workspace holding one incompressible file of size bytes.
func randomTree(t *testing.T, size int) string {
	t.Helper()
	ws := t.TempDir()
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(ws, "data.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return ws
}

// backupWithin runs a backup and fails the test if it has not returned
// within limit.
func backupWithin(t *testing.T, e *Engine, limit time.Duration) Result {
	t.Helper()
	done := make(chan Result, 1)
	go func() { done <- e.Backup(context.Background(), "test") }()
	select {
	case r := <-done:
		return r
	case <-time.After(limit):
		t.Fatalf("the backup is still running %s after the backend stalled", limit)
		return Result{}
	}
}

// stallMidUpload stalls the proxy 2 MB into the archive upload: the backup
// fails within a bounded time after retries on new connections; once the
// backend answers again the next backup succeeds and restores.
func stallMidUpload(t *testing.T, px *testutil.Proxy, via, direct store.Store) {
	ws := randomTree(t, 24<<20)
	e := newTestEngine(t, ws, via)
	px.StallAfter(2 << 20)
	before := px.Accepted()
	r := backupWithin(t, e, 90*time.Second)
	if r.Err == nil {
		t.Fatal("a backup against a stalled backend succeeded")
	}
	t.Logf("stalled backup failed after %.1f s: %v", r.DurationSeconds, r.Err)
	if n := px.Accepted() - before; n < 2 {
		t.Fatalf("the stalled upload was not retried on a new connection (%d connections)", n)
	}
	px.Resume()
	mustBackup(t, e)
	restoreEqual(t, direct, "latest", ws)
}

func s3Via(endpoint string, timeout time.Duration, attempts int) *store.S3 {
	return store.NewS3(store.S3Options{Bucket: "backups", Region: "us-east-1", Endpoint: endpoint, Prefix: "ws1",
		AccessKeyID: "testing", SecretAccessKey: "testing", Timeout: timeout, MaxAttempts: attempts})
}

func azureVia(t *testing.T, endpoint string, timeout time.Duration, attempts int) *store.Azure {
	t.Helper()
	a, err := store.NewAzure(store.AzureOptions{AccountName: testutil.AzuriteAccount, AccountKey: testutil.AzuriteKey,
		Container: "backups", Endpoint: endpoint, Prefix: "ws1", Timeout: timeout, MaxAttempts: attempts})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func multipartUploads(t *testing.T, s *store.S3) int {
	t.Helper()
	out, err := s.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String("backups")})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

// TestStalledS3Upload: S3 stops reading mid-upload; the progress deadline
// fails the upload, it is retried, the backup fails instead of hanging, and
// no multipart upload is left behind (issue 11, defect 4).
func TestStalledS3Upload(t *testing.T) {
	s3t, srv := testutil.S3Target(t, 10*time.Second)
	px := testutil.StartProxy(t, srv.Endpoint)
	stallMidUpload(t, px, s3Via(px.Endpoint, time.Second, 3), s3t)
	if n := multipartUploads(t, s3t); n != 0 {
		t.Fatalf("%d multipart uploads left behind", n)
	}
}

// TestStalledAzureUpload: the same with Azure Blob Storage (issue 11, defect 4).
func TestStalledAzureUpload(t *testing.T) {
	azt, srv := testutil.AzureTarget(t, 10*time.Second)
	px := testutil.StartProxy(t, srv.Endpoint)
	stallMidUpload(t, px, azureVia(t, px.Endpoint, time.Second, 3), azt)
}

// TestStaleMultipartUploadsAreAborted: the multipart upload of a killed
// run is aborted by the next backup (issue 11, defect 4).
func TestStaleMultipartUploadsAreAborted(t *testing.T) {
	s3t, _ := testutil.S3Target(t, 10*time.Second)
	c := s3t.Client()
	ctx := context.Background()
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("backups"),
		Key: aws.String("ws1/archives/20260101T000000.000000000Z-killed.tar.zst")})
	if err != nil {
		t.Fatal(err)
	}
	if multipartUploads(t, s3t) != 1 {
		t.Fatal("the killed run's upload is not listed")
	}
	_ = up
	mustBackup(t, newTestEngine(t, randomTree(t, 1000), s3t))
	if n := multipartUploads(t, s3t); n != 0 {
		t.Fatalf("%d stale multipart uploads left after a backup", n)
	}
}
