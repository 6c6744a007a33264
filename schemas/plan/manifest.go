package plan

import (
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Manifest file names; a plan has exactly one of them.
const (
	ManifestYAML = "plan.yaml"
	ManifestJSON = "plan.json"
)

// Manifest is the plan.yaml (or plan.json) of a plan directory.
type Manifest struct {
	// Name identifies the plan; sources refer to it (trackingPlan: web).
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Owners      []string `yaml:"owners" json:"owners"`
	// Compatibility is the default rule for publishing; default BACKWARD.
	Compatibility Compatibility `yaml:"compatibility,omitempty" json:"compatibility,omitempty"`
	Policy        PolicySpec    `yaml:"policy,omitempty" json:"policy,omitempty"`
	// Identify, Group, Page and Screen bind the traits and properties
	// schemas of those calls; each is optional.
	Identify *Binding `yaml:"identify,omitempty" json:"identify,omitempty"`
	Group    *Binding `yaml:"group,omitempty" json:"group,omitempty"`
	Page     *Binding `yaml:"page,omitempty" json:"page,omitempty"`
	Screen   *Binding `yaml:"screen,omitempty" json:"screen,omitempty"`
	// Events binds track event names to their versions' schemas.
	Events map[string]*EventSpec `yaml:"events,omitempty" json:"events,omitempty"`
}

// Binding ties an identify, group, page or screen call to a schema file.
type Binding struct {
	Schema        string        `yaml:"schema" json:"schema"`
	Compatibility Compatibility `yaml:"compatibility,omitempty" json:"compatibility,omitempty"`
	Policy        PolicySpec    `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// EventSpec is one track event of the manifest.
type EventSpec struct {
	Description   string        `yaml:"description,omitempty" json:"description,omitempty"`
	Compatibility Compatibility `yaml:"compatibility,omitempty" json:"compatibility,omitempty"`
	Policy        PolicySpec    `yaml:"policy,omitempty" json:"policy,omitempty"`
	// Versions maps each event version (1, 2, …) to its schema file.
	Versions map[int]string `yaml:"versions" json:"versions"`
}

var planNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// parseManifest decodes the manifest strictly: unknown keys are errors.
func parseManifest(file string, src []byte, c *collector) *Manifest {
	var m Manifest
	if file == ManifestJSON {
		dec := json.NewDecoder(bytes.NewReader(src))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			c.add(file, "", "%s", jsonError(src, err))
			return nil
		}
		if dec.More() {
			c.add(file, "", "invalid JSON: more than one value")
			return nil
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(&m); err != nil {
			c.add(file, "", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
			return nil
		}
	}
	return &m
}

// check validates every manifest field and normalizes case of modes and actions.
func (m *Manifest) check(file string, files Files, c *collector) {
	if m.Name == "" {
		c.add(file, "name", "missing: every plan needs a name")
	} else if !planNameRE.MatchString(m.Name) {
		c.add(file, "name", "%q: use 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", m.Name)
	}
	if len(m.Owners) == 0 {
		c.add(file, "owners", "missing: name at least one owner who reviews changes")
	}
	for i, o := range m.Owners {
		if strings.TrimSpace(o) == "" {
			c.add(file, "owners["+strconv.Itoa(i)+"]", "empty owner")
		}
	}
	m.Compatibility.check(c, file, "compatibility")
	m.Policy.check(c, file, "policy", true)
	for _, b := range []struct {
		key string
		b   *Binding
	}{{"identify", m.Identify}, {"group", m.Group}, {"page", m.Page}, {"screen", m.Screen}} {
		if b.b == nil {
			continue
		}
		checkSchemaRef(c, file, b.key+".schema", b.b.Schema, files)
		b.b.Compatibility.check(c, file, b.key+".compatibility")
		b.b.Policy.check(c, file, b.key+".policy", false)
	}
	for _, name := range sortedKeys(m.Events) {
		ev := m.Events[name]
		p := "events." + quote(name)
		if msg := eventNameProblem(name); msg != "" {
			c.add(file, p, "%s", msg)
		}
		if ev == nil {
			c.add(file, p, "empty: list the event's versions")
			continue
		}
		ev.Compatibility.check(c, file, p+".compatibility")
		ev.Policy.check(c, file, p+".policy", false)
		if len(ev.Versions) == 0 {
			c.add(file, p+".versions", "missing: list at least version 1")
		}
		for _, v := range sortedInts(ev.Versions) {
			vp := p + ".versions." + strconv.Itoa(v)
			if v < 1 {
				c.add(file, vp, "event versions are integers from 1")
			}
			checkSchemaRef(c, file, vp, ev.Versions[v], files)
		}
	}
}

// eventNameProblem says what is wrong with a track event name, if anything.
func eventNameProblem(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "empty event name"
	case name != strings.TrimSpace(name):
		return "event name has leading or trailing spaces"
	case len(name) > 200:
		return "event name longer than 200 bytes"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "event name contains a control character"
		}
	}
	return ""
}

// checkSchemaRef checks that a manifest entry names an .avsc file of the plan.
func checkSchemaRef(c *collector, file, p, ref string, files Files) {
	switch {
	case ref == "":
		c.add(file, p, "missing schema file")
	case path.Clean(ref) != ref || path.IsAbs(ref) || strings.HasPrefix(ref, "../"):
		c.add(file, p, "%q: use a clean path relative to the plan directory", ref)
	case !strings.HasSuffix(ref, ".avsc"):
		c.add(file, p, "%q: schema files end in .avsc", ref)
	default:
		if _, ok := files[ref]; !ok {
			c.add(file, p, "file %q not found in the plan", ref)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedInts[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
