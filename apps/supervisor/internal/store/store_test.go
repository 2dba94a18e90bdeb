package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// contract checks the behaviour every target must have.
func contract(t *testing.T, s store.Store) {
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), (17<<20)/16+3) // > one S3 part
	bigPath := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(bigPath, big, 0o600); err != nil {
		t.Fatal(err)
	}
	obj, err := s.PutFile(ctx, "archives/a.tar.zst", bigPath)
	if err != nil || obj.Size != int64(len(big)) || obj.Version == "" {
		t.Fatalf("put file: %+v %v", obj, err)
	}
	objects := map[string][]byte{"snapshots/a.json.zst": []byte("manifest"), "archives/b.tar.zst": {}}
	for k, v := range objects {
		if err := s.PutBytes(ctx, k, v); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	objects["archives/a.tar.zst"] = big
	listed, err := s.List(ctx, "archives/")
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(listed, func(i, j int) bool { return listed[i].Key < listed[j].Key })
	if len(listed) != 2 || listed[0] != obj || listed[1].Key != "archives/b.tar.zst" || listed[1].Size != 0 {
		t.Fatalf("list = %+v, uploaded %+v", listed, obj)
	}
	for k, v := range objects {
		rc, err := s.Get(ctx, k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("get %s: %d bytes, err %v", k, len(got), err)
		}
	}
	if _, err := s.Get(ctx, "snapshots/missing.json.zst"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing key: want ErrNotFound, got %v", err)
	}
	for _, k := range []string{"archives/a.tar.zst", "archives/never-existed"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("delete %s: %v", k, err)
		}
	}
	if keys, _ := s.List(ctx, "archives/"); len(keys) != 1 {
		t.Fatalf("after delete: %v", keys)
	}
}

func TestLocalContract(t *testing.T) { contract(t, &store.Local{Dir: t.TempDir()}) }

func TestS3Contract(t *testing.T) {
	s, _ := testutil.S3Target(t, 10*time.Second)
	contract(t, s)
}

func TestAzureContract(t *testing.T) {
	a, _ := testutil.AzureTarget(t, 10*time.Second)
	contract(t, a)
}

func TestLocalRequiresMountedDir(t *testing.T) {
	l := &store.Local{Dir: t.TempDir() + "/not-mounted"}
	err := l.PutBytes(context.Background(), "archives/a", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "is the volume mounted") {
		t.Fatalf("want an error about the mount, got %v", err)
	}
	if _, err := l.List(context.Background(), "snapshots/"); err == nil {
		t.Fatal("listing a missing mount must fail, not look empty")
	}
}

func TestLocalRefusesKeysOutsideTheMount(t *testing.T) {
	l := &store.Local{Dir: t.TempDir()}
	if _, err := l.Get(context.Background(), "snapshots/../../etc/passwd"); err == nil {
		t.Fatal("a key with .. must be refused")
	}
}

// countingTransport counts the requests that reach the backend.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// Refused credentials and missing buckets are answered at once, not retried.
func TestS3MissingBucketIsNotRetried(t *testing.T) {
	_, srv := testutil.S3Target(t, 10*time.Second)
	var ct countingTransport
	bad := store.NewS3(store.S3Options{Bucket: "no-such-bucket", Region: "us-east-1", Endpoint: srv.Endpoint,
		AccessKeyID: "testing", SecretAccessKey: "testing", Timeout: 10 * time.Second, MaxAttempts: 5, Transport: &ct})
	err := bad.PutBytes(context.Background(), "k", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "NoSuchBucket") || ct.n.Load() != 1 {
		t.Fatalf("missing bucket: %d requests, error %v", ct.n.Load(), err)
	}
}

func TestAzureWrongKeyIsNotRetried(t *testing.T) {
	_, srv := testutil.AzureTarget(t, 10*time.Second)
	var ct countingTransport
	bad, err := store.NewAzure(store.AzureOptions{AccountName: testutil.AzuriteAccount,
		AccountKey: "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmcga2V5IHdyb25nIGtleQ==", Container: "backups",
		Endpoint: srv.Endpoint, Timeout: 10 * time.Second, MaxAttempts: 5, Transport: &ct})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.PutBytes(context.Background(), "k", []byte("x"))
	if err == nil || ct.n.Load() != 1 {
		t.Fatalf("refused key: %d requests, error %v", ct.n.Load(), err)
	}
}

// A server that stops answering fails each request after the progress
// deadline, and the request is retried.
func TestStalledRequestIsRetried(t *testing.T) {
	_, srv := testutil.S3Target(t, 10*time.Second)
	px := testutil.StartProxy(t, srv.Endpoint)
	s := store.NewS3(store.S3Options{Bucket: "backups", Region: "us-east-1", Endpoint: px.Endpoint,
		AccessKeyID: "testing", SecretAccessKey: "testing", Timeout: 300 * time.Millisecond, MaxAttempts: 3})
	px.Stall()
	_, err := s.List(context.Background(), "snapshots/")
	var stall *store.StallError
	if !errors.As(err, &stall) || px.Accepted() < 2 {
		t.Fatalf("stalled list: %d connections, error %v", px.Accepted(), err)
	}
	px.Resume()
	if _, err := s.List(context.Background(), "snapshots/"); err != nil {
		t.Fatal(err)
	}
}
