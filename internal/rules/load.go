package rules

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aiwatch/aiwatch/internal/kql"
)

// Loader loads rules from several places and refuses a rule id already
// loaded from any of them.
type Loader struct {
	Catalog *kql.Catalog // tables rule queries compile against; nil: kql.DefaultCatalog
	// Prefix goes before file names in Rule.File and Problem.File, to tell
	// apart files of an embedded pack ("builtin:") from files on disk.
	Prefix string
	seen   map[string]string // rule id → file that loaded it first
	// read holds the absolute paths of the files LoadPaths has read, so a
	// file named twice (a.yaml ./a.yaml, or a file and its directory) is
	// read once instead of clashing with itself.
	read map[string]bool
	// disk is the absolute directory LoadFS walks when it walks one on disk.
	disk string
}

// NewLoader returns a loader compiling against cat.
func NewLoader(cat *kql.Catalog) *Loader {
	return &Loader{Catalog: cat, seen: map[string]string{}}
}

// LoadFS loads every *.yaml and *.yml file under dir in fsys (dir may be a
// single file), in lexical order, with a fresh Loader.
func LoadFS(fsys fs.FS, dir string, cat *kql.Catalog) ([]*Rule, []Problem) {
	return NewLoader(cat).LoadFS(fsys, dir)
}

// LoadPaths loads rule files and directories from disk, with a fresh Loader.
func LoadPaths(paths []string, cat *kql.Catalog) ([]*Rule, []Problem) {
	return NewLoader(cat).LoadPaths(paths)
}

// isRuleFile says whether a file found in a directory is a rule file.
func isRuleFile(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// LoadFS loads every rule file under dir in fsys. Files and directories
// whose names start with "." (.git, editor leftovers) are skipped. One bad
// file never stops the others.
func (l *Loader) LoadFS(fsys fs.FS, dir string) ([]*Rule, []Problem) {
	rules, probs, _ := l.loadFS(fsys, dir)
	return rules, probs
}

// loadFS is LoadFS, also counting the rule files found (those read before
// by LoadPaths included).
func (l *Loader) loadFS(fsys fs.FS, dir string) ([]*Rule, []Problem, int) {
	var rules []*Rule
	var probs []Problem
	found := 0
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			probs = append(probs, Problem{File: l.Prefix + p, Message: fmt.Sprintf("cannot read: %v", err)})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if p != dir && (!isRuleFile(p) || strings.HasPrefix(d.Name(), ".")) {
			return nil
		}
		found++
		if l.disk != "" && l.once(filepath.Join(l.disk, filepath.FromSlash(p))) {
			return nil
		}
		data, rerr := fs.ReadFile(fsys, p)
		if rerr != nil {
			probs = append(probs, Problem{File: l.Prefix + p, Message: fmt.Sprintf("cannot read: %v", rerr)})
			return nil
		}
		r, ps := l.parse(l.Prefix+p, data)
		probs = append(probs, ps...)
		if r != nil {
			rules = append(rules, r)
		}
		return nil
	})
	if err != nil {
		probs = append(probs, Problem{File: l.Prefix + dir, Message: fmt.Sprintf("cannot read: %v", err)})
	}
	return rules, probs, found
}

// once reports whether the file at abs was read before, and marks it read.
func (l *Loader) once(abs string) bool {
	if l.read == nil {
		l.read = map[string]bool{}
	}
	if l.read[abs] {
		return true
	}
	l.read[abs] = true
	return false
}

// LoadPaths loads files (whatever their extension) and directories (their
// *.yaml and *.yml files, recursively), in the order given. A file named
// more than once is read once; a directory without rule files is a problem.
func (l *Loader) LoadPaths(paths []string) ([]*Rule, []Problem) {
	var rules []*Rule
	var probs []Problem
	for _, p := range paths {
		p = filepath.Clean(p)
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		// A symbolic link names the file or directory it points to.
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		st, err := os.Stat(p)
		if err != nil {
			probs = append(probs, Problem{File: p, Message: fmt.Sprintf("cannot read: %v", err)})
			continue
		}
		if !st.IsDir() {
			if l.once(abs) {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				probs = append(probs, Problem{File: p, Message: fmt.Sprintf("cannot read: %v", err)})
				continue
			}
			r, ps := l.parse(p, data)
			probs = append(probs, ps...)
			if r != nil {
				rules = append(rules, r)
			}
			continue
		}
		// Names inside the directory are slash-separated; the prefix makes
		// them the paths a user would type.
		if l.read == nil {
			l.read = map[string]bool{}
		}
		sub := &Loader{Catalog: l.Catalog, seen: l.seen, read: l.read, disk: abs,
			Prefix: strings.TrimSuffix(filepath.ToSlash(p), "/") + "/"}
		rs, ps, found := sub.loadFS(os.DirFS(p), ".")
		rules = append(rules, rs...)
		probs = append(probs, ps...)
		if found == 0 && len(ps) == 0 {
			probs = append(probs, Problem{File: p, Message: "no rule files found in this directory (looked for *.yaml and *.yml files, in subdirectories too)"})
		}
	}
	return rules, probs
}

// parse parses one file and refuses an id seen before.
func (l *Loader) parse(file string, data []byte) (*Rule, []Problem) {
	if l.seen == nil {
		l.seen = map[string]string{}
	}
	r, ps := Parse(file, data, l.Catalog)
	if r == nil {
		return nil, ps
	}
	if first, dup := l.seen[r.ID]; dup {
		ps = append(ps, Problem{File: file, RuleID: r.ID, Field: "id",
			Message: fmt.Sprintf("the same id is already used by %s; give each rule its own GUID", first)})
		return nil, ps
	}
	l.seen[r.ID] = file
	return r, ps
}
