package rules

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadFSOneBadTwoGood(t *testing.T) {
	rules, probs := LoadFS(os.DirFS("testdata"), "mixed", nil)
	if len(rules) != 2 || rules[0].File != "mixed/a-good.yaml" || rules[1].File != "mixed/sub/c-good.yml" {
		t.Fatalf("rules: %v", rules)
	}
	if rules[0].ID != "493a7691-915a-4da5-a5fd-28e4bdf622ca" || rules[1].ID != "7ff8eeef-4cc5-4dd6-bca5-4eb30d4b608b" {
		t.Errorf("ids %s %s", rules[0].ID, rules[1].ID)
	}
	// notes.txt and the .hidden directory are not read.
	if len(probs) != 1 {
		t.Fatalf("problems: %v", probs)
	}
	want := `mixed/b-bad.yaml:6: rule 290ceaa7-5ce6-4ae6-b7a3-7847b3db925c: queryFrequency: cannot parse "often"`
	if p := probs[0]; p.Warning || !strings.HasPrefix(p.Error(), want) {
		t.Errorf("got %s", p.Error())
	}
}

func TestLoadDuplicateIDs(t *testing.T) {
	good, err := os.ReadFile("testdata/sentinel/copilot-jailbreak-first-message.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"r/1.yaml": {Data: good},
		"r/2.yaml": {Data: good},
		"r/3.yml":  {Data: []byte(string(good[:4]) + strings.ToUpper(string(good[4:40])) + string(good[40:]))}, // same id, upper case
	}
	rules, probs := LoadFS(fsys, "r", nil)
	if len(rules) != 1 || rules[0].File != "r/1.yaml" {
		t.Fatalf("rules %v", rules)
	}
	if len(probs) != 2 {
		t.Fatalf("problems %v", probs)
	}
	for i, f := range []string{"r/2.yaml", "r/3.yml"} {
		p := probs[i]
		if p.File != f || p.Field != "id" || p.Warning || p.Message != "the same id is already used by r/1.yaml; give each rule its own GUID" {
			t.Errorf("problem %d: %s", i, p.Error())
		}
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.rule") // named explicitly, so its extension does not matter
	if err := os.WriteFile(one, []byte(mk(nil)), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := filepath.Join("testdata", "sentinel")
	rules, probs := LoadPaths([]string{one, sentinel, filepath.Join(dir, "missing")}, nil)
	if len(rules) != 5 {
		t.Fatalf("rules: %d %v", len(rules), probs)
	}
	if rules[0].File != one || rules[1].File != "testdata/sentinel/copilot-file-uploads-disabled.yaml" || rules[4].File != "testdata/sentinel/copilot-plugin-toggled-quickly.yaml" {
		t.Errorf("files: %s %s %s", rules[0].File, rules[1].File, rules[4].File)
	}
	if len(probs) != 1 || probs[0].File != filepath.Join(dir, "missing") || !strings.Contains(probs[0].Message, "cannot read") {
		t.Errorf("problems: %v", probs)
	}
	// A second loader call with the same loader refuses ids already loaded.
	l := NewLoader(nil)
	l.LoadPaths([]string{sentinel})
	l.Prefix = "builtin:"
	rs, ps := l.LoadFS(os.DirFS("testdata"), "sentinel/copilot-plugin-toggled-quickly.yaml")
	if len(rs) != 0 || len(ps) != 1 || ps[0].File != "builtin:sentinel/copilot-plugin-toggled-quickly.yaml" ||
		!strings.Contains(ps[0].Message, "already used by testdata/sentinel/copilot-plugin-toggled-quickly.yaml") {
		t.Errorf("cross-source duplicate: %v %v", rs, ps)
	}
}

// A file named twice, however spelt, and a file also found in a directory
// named beside it are read once; a directory without rule files is an error
// naming it.
func TestLoadPathsDistinctAndEmpty(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{filepath.Join(rulesDir, "sub"), filepath.Join(empty, "sub")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	one := filepath.Join(rulesDir, "one.yaml")
	for _, f := range []string{one, filepath.Join(empty, "notes.txt"), filepath.Join(empty, ".hidden.yaml")} {
		if err := os.WriteFile(f, []byte(mk(nil)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(one, filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rulesDir, filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	const none = "no rule files found in this directory (looked for *.yaml and *.yml files, in subdirectories too)"
	tests := []struct {
		name  string
		paths []string
		files []string // of the rules loaded
		probs []string
	}{
		{"same file twice", []string{"rules/one.yaml", "rules/one.yaml"}, []string{"rules/one.yaml"}, nil},
		{"spelt differently", []string{"rules/one.yaml", "./rules//one.yaml", one}, []string{"rules/one.yaml"}, nil},
		{"file then its directory", []string{"rules/one.yaml", "rules"}, []string{"rules/one.yaml"}, nil},
		{"directory then its file", []string{"rules/", "rules/sub/../one.yaml"}, []string{"rules/one.yaml"}, nil},
		{"directory twice", []string{"rules", "./rules/"}, []string{"rules/one.yaml"}, nil},
		{"file and a link to it", []string{"rules/one.yaml", "link.yaml"}, []string{"rules/one.yaml"}, nil},
		{"directory and a link to it", []string{"rules", "linkdir"}, []string{"rules/one.yaml"}, nil},
		{"empty directory", []string{"empty"}, nil, []string{"empty: " + none}},
		{"empty and full", []string{"empty/", "rules"}, []string{"rules/one.yaml"}, []string{"empty: " + none}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, ps := LoadPaths(tc.paths, nil)
			var files, probs []string
			for _, r := range rs {
				files = append(files, r.File)
			}
			for _, p := range ps {
				probs = append(probs, p.Error())
			}
			if !slices.Equal(files, tc.files) || !slices.Equal(probs, tc.probs) {
				t.Fatalf("rules from %q, problems %q; want %q, %q", files, probs, tc.files, tc.probs)
			}
		})
	}
}
