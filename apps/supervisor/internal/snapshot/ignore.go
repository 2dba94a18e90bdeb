package snapshot

import (
	"bufio"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
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

// Matcher decides which workspace paths are excluded, with gitignore
// semantics (go-git's implementation): "#" comments, "!" negation, a
// trailing "/" for directories only, a "/" elsewhere anchors the pattern
// at the root, "**" matches any number of directories. The last matching
// pattern wins.
type Matcher struct {
	patterns []gitignore.Pattern
	m        gitignore.Matcher
}

// NewMatcher builds a matcher from patterns, in order.
func NewMatcher(patterns ...string) *Matcher {
	m := &Matcher{}
	for _, p := range patterns {
		m.add(p)
	}
	m.m = gitignore.NewMatcher(m.patterns)
	return m
}

// AddFrom adds one pattern per line of r.
func (m *Matcher) AddFrom(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m.add(strings.TrimSuffix(sc.Text(), "\r"))
	}
	m.m = gitignore.NewMatcher(m.patterns)
	return sc.Err()
}

func (m *Matcher) add(p string) {
	if strings.TrimSpace(p) == "" || strings.HasPrefix(p, "#") {
		return
	}
	m.patterns = append(m.patterns, gitignore.ParsePattern(p, nil))
}

// Excluded reports whether rel (slash-separated, relative) is excluded.
func (m *Matcher) Excluded(rel string, isDir bool) bool {
	return m.m.Match(strings.Split(rel, "/"), isDir)
}
