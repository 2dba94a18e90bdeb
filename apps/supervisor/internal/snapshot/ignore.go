package snapshot

import (
	"bufio"
	"io"
	"path"
	"strings"
)

// IgnoreFile is the name of the exclude file read from the workspace root.
const IgnoreFile = ".backupignore"

// DefaultExcludes are caches that are cheap to rebuild and expensive to back up.
var DefaultExcludes = []string{
	"**/node_modules/.cache/",
	".cache/",
	"__pycache__/",
	".pytest_cache/",
	".mypy_cache/",
	".npm/_cacache/",
	".Trash-*/",
}

type rule struct {
	pattern  string
	negate   bool
	dirOnly  bool
	anchored bool // matched against the whole path, not only the base name
	floating bool // anchored pattern that may start at any directory ("**/a/b")
}

// Matcher decides which workspace paths are excluded, using a subset of
// gitignore syntax: "#" comments, "!" negation, a trailing "/" for
// directories only, patterns with a "/" anchored at the root, "**/" prefix.
// The last matching rule wins.
type Matcher struct{ rules []rule }

// NewMatcher builds a matcher from patterns, in order.
func NewMatcher(patterns ...string) *Matcher {
	m := &Matcher{}
	for _, p := range patterns {
		m.add(p)
	}
	return m
}

// AddFrom adds one pattern per line of r.
func (m *Matcher) AddFrom(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m.add(sc.Text())
	}
	return sc.Err()
}

func (m *Matcher) add(p string) {
	p = strings.TrimSpace(p)
	if p == "" || strings.HasPrefix(p, "#") {
		return
	}
	var r rule
	if strings.HasPrefix(p, "!") {
		r.negate, p = true, p[1:]
	}
	if strings.HasSuffix(p, "/") {
		r.dirOnly, p = true, strings.TrimRight(p, "/")
	}
	if strings.HasPrefix(p, "**/") {
		r.floating, p = true, strings.TrimPrefix(p, "**/")
	}
	if strings.Contains(p, "/") {
		r.anchored, p = true, strings.TrimPrefix(p, "/")
	}
	if p == "" {
		return
	}
	r.pattern = p
	m.rules = append(m.rules, r)
}

// Excluded reports whether rel (slash-separated, relative) is excluded.
func (m *Matcher) Excluded(rel string, isDir bool) bool {
	excluded := false
	for _, r := range m.rules {
		if r.dirOnly && !isDir {
			continue
		}
		if r.matches(rel) {
			excluded = !r.negate
		}
	}
	return excluded
}

func (r rule) matches(rel string) bool {
	if !r.anchored {
		ok, _ := path.Match(r.pattern, path.Base(rel))
		return ok
	}
	for {
		if ok, _ := path.Match(r.pattern, rel); ok {
			return true
		}
		i := strings.IndexByte(rel, '/')
		if !r.floating || i < 0 {
			return false
		}
		rel = rel[i+1:]
	}
}
