package plan

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/linkedin/goavro/v2"
)

// Files is a plan's source: file path (slash-separated, relative to the plan
// directory) to content. It holds the manifest and every .avsc file.
type Files map[string][]byte

// Limits on what a plan may hold, so a hostile admin API body stays cheap.
const (
	MaxFiles    = 1000
	MaxFileSize = 1 << 20
)

// ReadDir reads a plan directory: the manifest and every .avsc file below
// it. Hidden directories and other files (README.md, …) are skipped.
func ReadDir(dir string) (Files, error) {
	files := Files{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != ManifestYAML && rel != ManifestJSON && !strings.HasSuffix(rel, ".avsc") {
			return nil
		}
		if len(files) >= MaxFiles {
			return fmt.Errorf("plan %s: more than %d files", dir, MaxFiles)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// CheckDir reads and checks the plan in dir.
func CheckDir(dir string) (*Plan, error) {
	files, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return Check(files)
}

// Check parses and checks every file of a plan: the manifest is sound, every
// schema is valid Avro (goavro parses it), every reference resolves, every
// default fits its type. It returns the plan, or Errors listing every
// problem with its file and field.
func Check(files Files) (*Plan, error) {
	c := &collector{}
	manifestFile := checkFileNames(files, c)
	if manifestFile == "" {
		return nil, c.err()
	}
	m := parseManifest(manifestFile, files[manifestFile], c)
	if m == nil {
		return nil, c.err()
	}
	m.check(manifestFile, files, c)
	if len(c.errs) > 0 {
		return nil, c.err()
	}
	p := &Plan{Manifest: m, Files: files, Policy: DefaultPolicy.apply(m.Policy), Types: map[string]*Type{}}
	bound := bindings(m)
	typeFiles := loadLibrary(files, bound, p.Types, c)
	for _, b := range bound {
		if s := loadSchema(files, b, p, typeFiles, c); s != nil {
			p.Schemas = append(p.Schemas, s)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.err()
	}
	sortSchemas(p.Schemas)
	p.Hash = Hash(p)
	return p, nil
}

// checkFileNames finds the manifest and refuses paths a directory could not hold.
func checkFileNames(files Files, c *collector) string {
	if len(files) > MaxFiles {
		c.add("(plan)", "", "more than %d files", MaxFiles)
		return ""
	}
	for _, name := range sortedKeys(files) {
		switch {
		case name == "" || path.Clean(name) != name || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "\\"):
			c.add(name, "", "not a clean relative path")
		case name != ManifestYAML && name != ManifestJSON && !strings.HasSuffix(name, ".avsc"):
			c.add(name, "", "a plan holds %s (or %s) and .avsc files only", ManifestYAML, ManifestJSON)
		case len(files[name]) > MaxFileSize:
			c.add(name, "", "larger than %d bytes", MaxFileSize)
		}
	}
	_, hasYAML := files[ManifestYAML]
	_, hasJSON := files[ManifestJSON]
	switch {
	case hasYAML && hasJSON:
		c.add(ManifestJSON, "", "a plan has one manifest: remove %s or %s", ManifestYAML, ManifestJSON)
	case !hasYAML && !hasJSON:
		c.add(ManifestYAML, "", "missing: a plan directory needs %s (or %s)", ManifestYAML, ManifestJSON)
	case len(c.errs) > 0:
	case hasYAML:
		return ManifestYAML
	default:
		return ManifestJSON
	}
	return ""
}

// binding is one manifest entry that ties a call (and event version) to a file.
type binding struct {
	call    CallType
	event   string
	version int
	file    string
	compat  Compatibility
	policy  PolicySpec
}

func bindings(m *Manifest) []binding {
	var out []binding
	for _, b := range []struct {
		call CallType
		b    *Binding
	}{{Identify, m.Identify}, {Group, m.Group}, {Page, m.Page}, {Screen, m.Screen}} {
		if b.b != nil {
			out = append(out, binding{call: b.call, file: b.b.Schema, compat: b.b.Compatibility, policy: b.b.Policy})
		}
	}
	for _, name := range sortedKeys(m.Events) {
		ev := m.Events[name]
		for _, v := range sortedInts(ev.Versions) {
			out = append(out, binding{call: Track, event: name, version: v, file: ev.Versions[v], compat: ev.Compatibility, policy: ev.Policy})
		}
	}
	return out
}

// loadLibrary parses every .avsc file no binding names: the shared named
// types. It returns the file defining each type.
func loadLibrary(files Files, bound []binding, lib map[string]*Type, c *collector) map[string]string {
	isBound := map[string]bool{}
	for _, b := range bound {
		isBound[b.file] = true
	}
	where := map[string]string{}
	var libs []*parsed
	for _, name := range sortedKeys(files) {
		if isBound[name] || !strings.HasSuffix(name, ".avsc") {
			continue
		}
		pf := parseFile(name, files[name], c)
		if pf == nil {
			continue
		}
		switch pf.root.Kind {
		case Record, Enum, Fixed, Union:
		default:
			c.add(name, "", "a shared types file holds a named type (record, enum, fixed) or an array of them, not %s; bind it in %s if it is an event schema", pf.root.Kind, ManifestYAML)
			continue
		}
		for full, t := range pf.defs {
			if other, dup := where[full]; dup {
				c.add(name, "", "named type %q is also defined in %s", full, other)
				continue
			}
			where[full] = name
			lib[full] = t
		}
		libs = append(libs, pf)
	}
	for _, pf := range libs {
		r := &resolver{c: c, file: pf.file, local: pf.defs, lib: lib, done: map[*Type]bool{}}
		pf.root = r.fix(pf.root, "")
	}
	for _, pf := range libs {
		for _, full := range sortedKeys(pf.defs) {
			if n, at := cycle(pf.defs[full], "", map[*Type]bool{}, map[*Type]bool{}); n != "" {
				c.add(pf.file, joinPath(full, at), "recursive type %q: tracking plans need finite types to derive warehouse columns", n)
			}
		}
	}
	return where
}

// loadSchema parses and checks the file of one binding.
func loadSchema(files Files, b binding, p *Plan, typeFiles map[string]string, c *collector) *Schema {
	before := len(c.errs)
	pf := parseFile(b.file, files[b.file], c)
	if pf == nil {
		return nil
	}
	for _, full := range sortedKeys(pf.defs) {
		if other, dup := typeFiles[full]; dup {
			c.add(b.file, "", "named type %q is defined here and in the shared types file %s: refer to it by name instead", full, other)
		}
	}
	r := &resolver{c: c, file: b.file, local: pf.defs, lib: p.Types, done: map[*Type]bool{}}
	root := r.fix(pf.root, "")
	if root.Kind != Record {
		c.add(b.file, "", "the schema of %s must be a record, not %s", describe(b), root.String())
		return nil
	}
	if n, at := cycle(root, "", map[*Type]bool{}, map[*Type]bool{}); n != "" {
		c.add(b.file, at, "recursive type %q: tracking plans need finite types to derive warehouse columns", n)
		return nil
	}
	checkDefaults(c, b.file, root, "", map[*Type]bool{})
	if len(c.errs) > before {
		return nil
	}
	canon := Canonical(root)
	if err := goavroCheck(canon); err != nil {
		c.add(b.file, "", "not valid Avro (goavro): %v", err)
		return nil
	}
	compat := b.compat
	if compat == "" {
		compat, _ = ParseCompatibility(string(p.Manifest.Compatibility))
	}
	return &Schema{
		Call: b.call, Event: b.event, Version: b.version, File: b.file, Root: root,
		Policy: p.Policy.apply(b.policy), Compatibility: compat, Canonical: canon,
	}
}

func describe(b binding) string {
	if b.call == Track {
		return fmt.Sprintf("track %q v%d", b.event, b.version)
	}
	return string(b.call)
}

// goavroCheck asks goavro, the reference parser, whether a schema is valid.
// goavro panics on a few malformed inputs; such a panic means invalid.
func goavroCheck(canonical string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rejected: %v", r)
		}
	}()
	_, err = goavro.NewCodec(canonical)
	return err
}

// Paths lists the plan's files in order, manifest first.
func (f Files) Paths() []string {
	out := sortedKeys(f)
	sort.SliceStable(out, func(i, j int) bool {
		return (out[i] == ManifestYAML || out[i] == ManifestJSON) && out[j] != ManifestYAML && out[j] != ManifestJSON
	})
	return out
}
