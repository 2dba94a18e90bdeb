package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dev8/images/apps/supervisor/internal/store"
)

// S3Target starts moto and returns a store on a fresh bucket.
func S3Target(t testing.TB, timeout time.Duration) (*store.S3, *Server) {
	t.Helper()
	srv := StartMoto(t)
	s := store.NewS3(store.S3Options{Bucket: "backups", Region: "us-east-1", Endpoint: srv.Endpoint, Prefix: "ws1",
		AccessKeyID: "testing", SecretAccessKey: "testing", Timeout: timeout})
	if _, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("backups")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return s, srv
}

// AzureTarget starts Azurite and returns a store on a fresh container.
func AzureTarget(t testing.TB, timeout time.Duration) (*store.Azure, *Server) {
	t.Helper()
	srv := StartAzurite(t)
	a, err := store.NewAzure(store.AzureOptions{AccountName: AzuriteAccount, AccountKey: AzuriteKey, Container: "backups",
		Endpoint: srv.Endpoint, Prefix: "ws1", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client().CreateContainer(context.Background(), "backups", nil); err != nil {
		t.Fatalf("create container: %v", err)
	}
	return a, srv
}
