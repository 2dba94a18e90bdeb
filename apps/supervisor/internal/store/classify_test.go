package store

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/aws/smithy-go"
)

func TestClassify(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	tests := []struct {
		name          string
		err           error
		wantPermanent bool
		wantNotFound  bool
	}{
		{"s3 access denied", classifyS3(api("AccessDenied")), true, false},
		{"s3 bad key id", classifyS3(api("InvalidAccessKeyId")), true, false},
		{"s3 missing bucket", classifyS3(api("NoSuchBucket")), true, false},
		{"s3 missing key", classifyS3(api("NoSuchKey")), true, true},
		{"s3 request timeout", classifyS3(api("RequestTimeout")), false, false},
		{"s3 slow down", classifyS3(api("SlowDown")), false, false},
		{"s3 connection refused", classifyS3(fmt.Errorf("dial: %w", syscall.ECONNREFUSED)), false, false},
		{"disk full", classifyOS(fmt.Errorf("write: %w", syscall.ENOSPC)), true, false},
		{"quota", classifyOS(syscall.EDQUOT), true, false},
		{"read-only", classifyOS(syscall.EROFS), true, false},
		{"permission", classifyOS(syscall.EACCES), true, false},
		{"io error", classifyOS(syscall.EIO), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPermanent(tc.err); got != tc.wantPermanent {
				t.Errorf("IsPermanent = %v", got)
			}
			if got := errors.Is(tc.err, ErrNotFound); got != tc.wantNotFound {
				t.Errorf("not found = %v", got)
			}
		})
	}
}
