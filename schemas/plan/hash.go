package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
)

// Hash is the content hash of a plan: "sha256:" and the hex SHA-256 of the
// manifest (as normalized JSON), each schema's target and canonical form, and
// each shared type's canonical form. Whitespace, key order, comments in the
// YAML and unknown Avro attributes do not change it; any change of meaning
// (a type, a default, a doc, a policy, an owner) does. Publishing an
// unchanged plan is recognised by an equal hash.
func Hash(p *Plan) string {
	h := sha256.New()
	io.WriteString(h, "sluice-plan-v1\n")
	m, _ := json.Marshal(p.Manifest) // a Manifest always marshals
	h.Write(m)
	h.Write([]byte{'\n'})
	for _, s := range p.Schemas {
		io.WriteString(h, s.Target())
		h.Write([]byte{'\t'})
		io.WriteString(h, s.Canonical)
		h.Write([]byte{'\n'})
	}
	for _, name := range sortedKeys(p.Types) {
		io.WriteString(h, Canonical(p.Types[name]))
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
