package store

import (
	"net/http"
	"time"
)

// newHTTPClient returns a client whose requests fail when a backend stops
// answering for longer than timeout (no overall deadline, so large uploads
// are not cut short).
func newHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = timeout
	t.MaxIdleConnsPerHost = 4
	return &http.Client{Transport: t}
}
