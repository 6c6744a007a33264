package plan

import (
	"testing"
	"time"
)

// FuzzCheck feeds arbitrary manifests and schemas to the loader. Nothing
// may panic; a plan that checks must be equal to itself under Diff and
// every compatibility mode, and survive a round trip through its published
// document with the same hash.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("name: w\nowners: [o]\nevents:\n  E:\n    versions: {1: e.avsc}\n"),
		[]byte(`{"type":"record","name":"E","fields":[{"name":"a","type":["null","string"],"default":null}]}`),
		[]byte(`{"type":"enum","name":"C","symbols":["A"]}`))
	f.Add([]byte(`{"name":"w","owners":["o"],"identify":{"schema":"e.avsc"}}`),
		[]byte(`{"type":"record","name":"R","namespace":"x.y","fields":[{"name":"c","type":"C"},{"name":"m","type":{"type":"map","values":{"type":"long","logicalType":"timestamp-millis"}}}]}`),
		[]byte(`[{"type":"enum","name":"C","symbols":["A","B"],"default":"A"},{"type":"fixed","name":"F","size":3}]`))
	f.Add([]byte("name: w\nowners: [o]\nevents: {E: {versions: {1: e.avsc}}}"),
		[]byte(`{"type":"record","name":"E","fields":[{"name":"d","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2},"default":"\u0000"}]}`),
		[]byte(`"string"`))
	f.Fuzz(func(t *testing.T, manifest, schema, types []byte) {
		name := ManifestYAML
		if len(manifest) > 0 && manifest[0] == '{' {
			name = ManifestJSON
		}
		p, err := Check(Files{name: manifest, "e.avsc": schema, "types/t.avsc": types})
		if err != nil {
			if AsErrors(err) == nil {
				t.Fatalf("Check returned %T, not Errors: %v", err, err)
			}
			return
		}
		if h := Hash(p); h != p.Hash {
			t.Fatalf("hash not deterministic: %s vs %s", h, p.Hash)
		}
		if cs := Diff(p, p); len(cs) != 0 {
			t.Fatalf("plan differs from itself: %s", cs.Text())
		}
		if v := CheckCompatibility(p, p, Full); !v.Compatible {
			t.Fatalf("plan incompatible with itself: %s", v.Text())
		}
		doc, err := NewVersion(p, 1, "fuzz", time.Unix(0, 0)).Encode()
		if err != nil {
			t.Fatal(err)
		}
		v, err := DecodeVersion(doc)
		if err != nil {
			t.Fatal(err)
		}
		q, err := v.Load()
		if err != nil {
			t.Fatalf("published document does not load: %v", err)
		}
		if q.Hash != p.Hash {
			t.Fatal("round trip changed the hash")
		}
	})
}
