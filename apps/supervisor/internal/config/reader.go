package config

import (
	"errors"
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

// duration accepts Go durations ("90s", "5m") or a plain number of
// seconds, from minimum to maximum.
func (r *reader) duration(name string, def, minimum, maximum time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseInt(v, 10, 64)
		if nerr != nil && !errors.Is(nerr, strconv.ErrRange) {
			r.fail(name, "must be a duration such as 300s or 5m, got %q", v)
			return def
		}
		if nerr != nil || n > int64(maximum/time.Second) {
			r.fail(name, "must be at most %s, got %q", maximum, v)
			return def
		}
		d = time.Duration(n) * time.Second
	}
	if d < minimum || d > maximum {
		r.fail(name, "must be from %s to %s, got %s", minimum, maximum, d)
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

// notInside fails name when path is dir or lies inside it (symlinks
// resolved where the paths exist): a backup mount or state directory
// inside the workspace would be backed up into itself.
func (r *reader) notInside(name, path, dirName, dir string) {
	if path == "" || dir == "" {
		return
	}
	if within(resolve(path), resolve(dir)) {
		r.fail(name, "is %q, inside %s (%q): it would be backed up into itself", path, dirName, dir)
	}
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}

// resolve follows the symlinks of the longest existing prefix of path.
func resolve(path string) string {
	rest := ""
	for p := path; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		if p == filepath.Dir(p) {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}
