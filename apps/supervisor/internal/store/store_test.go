package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/store"
	"github.com/dev8/images/apps/supervisor/internal/testutil"
)

// contract checks the behaviour every target must have.
func contract(t *testing.T, s store.Store) {
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), (17<<20)/16+3) // > one S3 part
	objects := map[string][]byte{"snapshots/a.json.zst": []byte("manifest"), "archives/a.tar.zst": big, "archives/b.tar.zst": {}}
	for k, v := range objects {
		if err := s.Put(ctx, k, bytes.NewReader(v), int64(len(v))); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	keys, err := s.List(ctx, "archives/")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	if !slices.Equal(keys, []string{"archives/a.tar.zst", "archives/b.tar.zst"}) {
		t.Fatalf("list = %v", keys)
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
	// A short reader is an error, not a truncated object.
	if err := s.Put(ctx, "archives/short", strings.NewReader("abc"), 10); err == nil {
		if rc, gerr := s.Get(ctx, "archives/short"); gerr == nil {
			rc.Close()
			t.Fatal("a short upload must not produce an object")
		}
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

func TestS3WrongCredentialsArePermanent(t *testing.T) {
	_, srv := testutil.S3Target(t, 10*time.Second)
	bad := store.NewS3(store.S3Options{Bucket: "no-such-bucket", Region: "us-east-1", Endpoint: srv.Endpoint,
		AccessKeyID: "testing", SecretAccessKey: "testing", Timeout: 10 * time.Second})
	err := bad.Put(context.Background(), "k", strings.NewReader("x"), 1)
	if err == nil || !store.IsPermanent(err) {
		t.Fatalf("missing bucket should be a permanent error, got %v", err)
	}
}

func TestAzureWrongKeyIsPermanent(t *testing.T) {
	_, srv := testutil.AzureTarget(t, 10*time.Second)
	bad, err := store.NewAzure(store.AzureOptions{AccountName: testutil.AzuriteAccount,
		AccountKey: "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmcga2V5IHdyb25nIGtleQ==", Container: "backups",
		Endpoint: srv.Endpoint, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Put(context.Background(), "k", strings.NewReader("x"), 1)
	if err == nil || !store.IsPermanent(err) {
		t.Fatalf("refused auth should be a permanent error, got %v", err)
	}
}
