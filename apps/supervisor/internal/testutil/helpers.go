package testutil

import (
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
)

// FlipByte damages the file at path: one bit pattern in its middle byte.
func FlipByte(t testing.TB, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x55
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Loop calls step(0), step(1), ... on a goroutine until the test ends (the
// cleanup waits for the step under way).
func Loop(t testing.TB, step func(i int)) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			step(i)
		}
	})
	t.Cleanup(func() { close(stop); wg.Wait() })
}

// Do sends an HTTP request (with a bearer token when token is not empty)
// and returns the status code and body.
func Do(t testing.TB, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
