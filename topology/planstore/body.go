package planstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/schemas/plan"
)

// PublishRequest is the body of POST /v1/tracking-plans: a plan directory as
// JSON. Manifest holds the manifest's fields (as in plan.yaml) and Files maps
// each .avsc path to its schema, either as a JSON string holding the schema
// text or as the schema itself (an object or array). A plan.yaml or
// plan.json entry in Files may replace Manifest.
//
//	{"author": "ana@acme.example", "compatibility": "BACKWARD",
//	 "manifest": {"name": "web", "owners": ["ana@acme.example"],
//	              "events": {"Order Completed": {"versions": {"1": "order.avsc"}}}},
//	 "files": {"order.avsc": {"type": "record", "name": "Order", "fields": []}}}
type PublishRequest struct {
	Author        string                     `json:"author,omitempty"`
	Compatibility string                     `json:"compatibility,omitempty"`
	Manifest      json.RawMessage            `json:"manifest,omitempty"`
	Files         map[string]json.RawMessage `json:"files"`
}

// MaxBodySize bounds a POST body.
const MaxBodySize = 8 << 20

// DecodePublishRequest reads a PublishRequest and turns it into plan files.
// Errors name the offending key.
func DecodePublishRequest(r io.Reader) (*PublishRequest, plan.Files, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var req PublishRequest
	if err := dec.Decode(&req); err != nil {
		return nil, nil, fmt.Errorf("body: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("body: more than one JSON value")
	}
	if _, ok := plan.ParseCompatibility(req.Compatibility); !ok {
		return nil, nil, fmt.Errorf("compatibility: %q is not one of BACKWARD | FORWARD | FULL | NONE", req.Compatibility)
	}
	files := plan.Files{}
	for name, raw := range req.Files {
		text, err := fileText(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("files[%q]: %w", name, err)
		}
		files[name] = text
	}
	if m := bytes.TrimSpace(req.Manifest); len(m) > 0 && !bytes.Equal(m, []byte("null")) {
		if m[0] != '{' {
			return nil, nil, errors.New("manifest: must be an object with the fields of plan.yaml")
		}
		if _, ok := files[plan.ManifestYAML]; ok {
			return nil, nil, errors.New("manifest: given both as manifest and as files[\"plan.yaml\"]")
		}
		if _, ok := files[plan.ManifestJSON]; ok {
			return nil, nil, errors.New("manifest: given both as manifest and as files[\"plan.json\"]")
		}
		files[plan.ManifestJSON] = m
	}
	return &req, files, nil
}

// fileText accepts a JSON string (the file's text) or a JSON object or
// array (the schema itself).
func fileText(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("empty")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	case '{', '[':
		return raw, nil
	}
	return nil, errors.New("want the file's text as a string, or the schema as an object or array")
}
