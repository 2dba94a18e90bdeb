package snapshot

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExcludesAgreeWithGit builds a tree, writes the same patterns to
// .gitignore and .backupignore, and checks that the scanner keeps exactly
// the files git does not ignore (issue 11: ".backupignore has gitignore
// semantics").
func TestExcludesAgreeWithGit(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	patterns := []string{
		"a/**/b", "logs/**/*.txt", "*.log", "!keep.log", "/build/", "docs/tmp", "**/gen/*.go", "x/**",
		"nested/*/deep", "\\#literal", "trailing/", "*.o", "!important.o", "cache-*/", "dir/sub/",
	}
	files := []string{
		"a/b", "a/x/b", "a/x/y/b", "ab", "x1/a/b", "q/a/p/b/c",
		"logs/a.txt", "logs/2026/01/a.txt", "logs/a.md", "other/logs/a.txt",
		"server.log", "deep/dir/server.log", "keep.log", "sub/keep.log",
		"build/out", "src/build/out", "docs/tmp", "x/docs/tmp",
		"gen/a.go", "pkg/gen/b.go", "pkg/gen/c.txt", "x/inner/file", "xy/file",
		"nested/one/deep", "nested/one/two/deep", "#literal", "trailing/file", "trailing2/file",
		"m.o", "important.o", "cache-1/f", "cache-/f", "dir/sub/f", "other/dir/sub/f", "main.go",
	}
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rules := strings.Join(append(append([]string{}, DefaultExcludes...), patterns...), "\n") + "\n"
	for _, name := range []string{".gitignore", IgnoreFile} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return string(out)
	}
	git("init", "-q")
	var want []string
	for _, f := range strings.Split(strings.TrimSpace(git("ls-files", "--others", "--exclude-standard")), "\n") {
		if f != ".gitignore" && f != IgnoreFile {
			want = append(want, f)
		}
	}
	entries, _, err := (&Scanner{Root: root}).Scan()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.Kind == KindFile && e.Path != ".gitignore" && e.Path != IgnoreFile && !strings.HasPrefix(e.Path, ".git/") {
			got = append(got, e.Path)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("%s: git keeps it, the scanner excludes it", f)
		}
	}
	for _, f := range got {
		if !slices.Contains(want, f) {
			t.Errorf("%s: git ignores it, the scanner keeps it", f)
		}
	}
}
