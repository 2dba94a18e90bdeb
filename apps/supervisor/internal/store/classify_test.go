package store

import (
	"errors"
	"testing"

	"github.com/aws/smithy-go"
)

func TestClassifyS3NotFound(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	for code, want := range map[string]bool{"NoSuchKey": true, "NotFound": true, "NoSuchBucket": false, "AccessDenied": false} {
		if got := errors.Is(classifyS3(api(code)), ErrNotFound); got != want {
			t.Errorf("%s: not found = %v", code, got)
		}
	}
}
