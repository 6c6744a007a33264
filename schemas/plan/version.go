package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version is one published version of a plan: the document kept on the
// compacted tracking-plans topic under the key Key(plan, version). Files
// holds the plan's source exactly as checked, so any reader re-checks and
// rebuilds the same plan with Plan.
type Version struct {
	Plan        string    `json:"plan"`
	Version     int       `json:"version"`
	Author      string    `json:"author"`
	PublishedAt time.Time `json:"publishedAt"`
	Hash        string    `json:"hash"`
	// Files maps each path to its text: the manifest and every .avsc file.
	Files map[string]string `json:"files"`
}

// NewVersion makes the document that publishes p as the given version.
func NewVersion(p *Plan, version int, author string, at time.Time) *Version {
	files := make(map[string]string, len(p.Files))
	for name, b := range p.Files {
		files[name] = string(b)
	}
	return &Version{Plan: p.Name(), Version: version, Author: author, PublishedAt: at.UTC(), Hash: p.Hash, Files: files}
}

// Key is the record key of a plan version: "name/version". Plan names
// cannot contain "/", so the key is unambiguous.
func Key(plan string, version int) string { return plan + "/" + strconv.Itoa(version) }

// Encode renders the document as JSON.
func (v *Version) Encode() ([]byte, error) { return json.Marshal(v) }

// DecodeVersion parses a document written by Encode, refusing unknown keys
// and documents without a plan name or a positive version.
func DecodeVersion(b []byte) (*Version, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v Version
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("plan version document: %w", err)
	}
	if v.Plan == "" || v.Version < 1 {
		return nil, errors.New("plan version document: needs a plan name and a version of at least 1")
	}
	return &v, nil
}

// Load checks the document's files and returns the plan. It fails when the
// files do not check, name another plan, or hash differently than recorded.
func (v *Version) Load() (*Plan, error) {
	files := make(Files, len(v.Files))
	for name, s := range v.Files {
		files[name] = []byte(s)
	}
	p, err := Check(files)
	if err != nil {
		return nil, fmt.Errorf("plan %s version %d: %w", v.Plan, v.Version, err)
	}
	if p.Name() != v.Plan {
		return nil, fmt.Errorf("plan %s version %d: its manifest names plan %q", v.Plan, v.Version, p.Name())
	}
	if p.Hash != v.Hash {
		return nil, fmt.Errorf("plan %s version %d: content hash %s differs from the recorded %s", v.Plan, v.Version, p.Hash, v.Hash)
	}
	return p, nil
}

// ParseKey splits a record key made by Key.
func ParseKey(key string) (plan string, version int, err error) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", 0, fmt.Errorf("plan version key %q: want name/version", key)
	}
	v, err := strconv.Atoi(key[i+1:])
	if err != nil || v < 1 || !planNameRE.MatchString(key[:i]) {
		return "", 0, fmt.Errorf("plan version key %q: want name/version", key)
	}
	return key[:i], v, nil
}
