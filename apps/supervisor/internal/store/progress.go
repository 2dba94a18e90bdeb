package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// StallError is the error of a request whose backend made no progress
// (sent or accepted no byte) for the progress deadline. It is a timeout,
// which the SDKs retry.
type StallError struct {
	Op    string
	After time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("%s: the backend made no progress for %s", e.Op, e.After)
}

// Timeout reports true: the SDKs retry timeouts.
func (e *StallError) Timeout() bool { return true }

// Temporary reports true.
func (e *StallError) Temporary() bool { return true }

var errStalled = errors.New("stalled")

// newHTTPClient returns a client whose requests fail with a StallError
// when, at any stage (connecting, sending the body, waiting for the
// answer, reading it), nothing moves for timeout. There is no overall
// deadline, so large transfers are not cut short.
func newHTTPClient(timeout time.Duration, base http.RoundTripper) *http.Client {
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 4
		base = t
	}
	return &http.Client{Transport: &progressTransport{base: base, timeout: timeout}}
}

type progressTransport struct {
	base    http.RoundTripper
	timeout time.Duration
}

// watchdog cancels a request when its timer runs out; progress resets it.
type watchdog struct {
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelCauseFunc
	once   sync.Once
}

func (w *watchdog) progress() { w.timer.Reset(w.d) }

func (w *watchdog) stop() { w.once.Do(func() { w.timer.Stop(); w.cancel(nil) }) }

func (t *progressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	wd := &watchdog{d: t.timeout, cancel: cancel}
	wd.timer = time.AfterFunc(t.timeout, func() { cancel(errStalled) })
	op := req.Method + " " + req.URL.Path
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &progressBody{rc: req.Body, wd: wd, ctx: ctx, op: op}
		if get := req.GetBody; get != nil {
			req.GetBody = func() (io.ReadCloser, error) {
				b, err := get()
				return &progressBody{rc: b, wd: wd, ctx: ctx, op: op}, err
			}
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		stalled := context.Cause(ctx) == errStalled
		wd.stop()
		if stalled {
			return nil, &StallError{Op: op, After: t.timeout}
		}
		return nil, err
	}
	resp.Body = &progressBody{rc: resp.Body, wd: wd, ctx: ctx, op: op, closeStops: true}
	return resp, nil
}

// progressBody resets the watchdog on every byte that moves.
type progressBody struct {
	rc         io.ReadCloser
	wd         *watchdog
	ctx        context.Context
	op         string
	closeStops bool // a response body: closing it ends the request
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.wd.progress()
	}
	if err != nil && err != io.EOF && context.Cause(b.ctx) == errStalled {
		err = &StallError{Op: b.op, After: b.wd.d}
	}
	if err == io.EOF && b.closeStops {
		b.wd.stop()
	}
	return n, err
}

func (b *progressBody) Close() error {
	if b.closeStops {
		b.wd.stop()
	}
	return b.rc.Close()
}
