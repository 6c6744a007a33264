package plan

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata file name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func mustCheckDir(t *testing.T, dir string) *Plan {
	t.Helper()
	p, err := CheckDir(dir)
	if err != nil {
		t.Fatalf("check %s: %v", dir, err)
	}
	return p
}

// TestDiffGolden renders the diff and every compatibility verdict of each
// testdata/diff case (old/ is absent for a first publication).
func TestDiffGolden(t *testing.T) {
	cases, _ := filepath.Glob("testdata/diff/*")
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, dir := range cases {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			var prev *Plan
			if _, err := os.Stat(filepath.Join(dir, "old")); err == nil {
				prev = mustCheckDir(t, filepath.Join(dir, "old"))
			}
			next := mustCheckDir(t, filepath.Join(dir, "new"))
			changes := Diff(prev, next)
			golden(t, "diff/"+name+"/diff.txt", changes.Text())
			js, err := json.MarshalIndent(changes, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "diff/"+name+"/diff.json", string(js)+"\n")
			var verdicts strings.Builder
			for _, mode := range []Compatibility{"", Backward, Forward, Full, None} {
				label := string(mode)
				if label == "" {
					label = "manifest modes"
				}
				verdicts.WriteString("== " + label + "\n")
				verdicts.WriteString(CheckCompatibility(prev, next, mode).Text())
			}
			golden(t, "diff/"+name+"/verdicts.txt", verdicts.String())
		})
	}
}

// TestCheckErrorsGolden lists the problems Check finds in each
// testdata/check case; valid cases list "ok" and the schemas.
func TestCheckErrorsGolden(t *testing.T) {
	cases, _ := filepath.Glob("testdata/check/*")
	for _, dir := range cases {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			p, err := CheckDir(dir)
			if err != nil {
				if AsErrors(err) == nil {
					t.Fatalf("not a plan.Errors: %v", err)
				}
				out.WriteString(err.Error() + "\n")
			} else {
				out.WriteString("ok " + p.Name() + "\n")
				for _, s := range p.Schemas {
					out.WriteString(s.Target() + " " + s.File + "\n")
				}
			}
			golden(t, "check/"+name+"/errors.golden", out.String())
		})
	}
}

// TestDiffUnchanged: a plan compared with itself has no changes and is
// compatible under every mode, and its hash ignores formatting.
func TestDiffUnchanged(t *testing.T) {
	p := mustCheckDir(t, "../../examples/plans/web")
	q := mustCheckDir(t, "../../examples/plans/web")
	if cs := Diff(p, q); len(cs) != 0 {
		t.Fatalf("changes against itself: %v", cs)
	}
	for _, m := range []Compatibility{Backward, Forward, Full} {
		if v := CheckCompatibility(p, q, m); !v.Compatible {
			t.Fatalf("%s: %s", m, v.Text())
		}
	}
	reformatted := Files{}
	for k, v := range q.Files {
		reformatted[k] = v
	}
	src := string(reformatted["events/product_viewed.avsc"])
	reformatted["events/product_viewed.avsc"] = []byte(strings.ReplaceAll(strings.ReplaceAll(src, "\n", ""), "  ", ""))
	r, err := Check(reformatted)
	if err != nil {
		t.Fatal(err)
	}
	if r.Hash != p.Hash {
		t.Fatalf("reformatting changed the hash")
	}
	reformatted["events/product_viewed.avsc"] = []byte(strings.Replace(src, `"double"`, `"float"`, 1))
	r, err = Check(reformatted)
	if err != nil {
		t.Fatal(err)
	}
	if r.Hash == p.Hash {
		t.Fatalf("a type change kept the hash")
	}
}
