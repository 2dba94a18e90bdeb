package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reader parses variables and collects one error per invalid variable.
type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "must be true or false, got %q", v)
		return def
	}
	return b
}

// duration accepts Go durations ("90s", "5m") or a plain number of seconds.
func (r *reader) duration(name string, def, minimum time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			r.fail(name, "must be a duration such as 300s or 5m, got %q", v)
			return def
		}
		d = time.Duration(n) * time.Second
	}
	if d < minimum {
		r.fail(name, "must be at least %s, got %s", minimum, d)
		return def
	}
	return d
}

func (r *reader) integer(name string, def, lo, hi int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, "must be an integer from %d to %d, got %q", lo, hi, v)
		return def
	}
	return n
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	if !slices.Contains(allowed, v) {
		r.fail(name, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
		return def
	}
	return v
}

func (r *reader) path(name, def string) string {
	v := r.str(name, def)
	if v != "" && !filepath.IsAbs(v) {
		r.fail(name, "must be an absolute path, got %q", v)
		return def
	}
	if v == "" {
		return ""
	}
	return filepath.Clean(v)
}

func (r *reader) url(name string) string {
	v := r.str(name, "")
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, "must be an http(s) URL, got %q", v)
		return ""
	}
	return strings.TrimRight(v, "/")
}

// list splits a comma-separated variable.
func (r *reader) list(name string) []string {
	var out []string
	for p := range strings.SplitSeq(r.getenv(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *reader) require(name, value, because string) {
	if value == "" {
		r.fail(name, "must be set when %s is set", because)
	}
}

func (r *reader) checkListen(name, addr string, hasToken bool) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		r.fail(name, "must be host:port, got %q", addr)
		return
	}
	if !IsLoopback(addr) && !hasToken {
		r.fail(name, "is %q, not a loopback address: set SUPERVISOR_HTTP_TOKEN to require a bearer token", addr)
	}
}
