package planstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas/plan"
)

// ErrNotFound is returned for a plan or version the topic does not hold.
var ErrNotFound = errors.New("planstore: not found")

// Summary describes one plan on the topic.
type Summary struct {
	Plan        string    `json:"plan"`
	Latest      int       `json:"latestVersion"`
	Hash        string    `json:"hash"`
	Author      string    `json:"author"`
	PublishedAt time.Time `json:"publishedAt"`
	Versions    []int     `json:"versions"`
}

// history is every live version of every plan, as read from the topic.
type history map[string]map[int]*plan.Version

// latest is the highest version of a plan, or nil.
func (h history) latest(name string) *plan.Version {
	var best *plan.Version
	for _, v := range h[name] {
		if best == nil || v.Version > best.Version {
			best = v
		}
	}
	return best
}

// apply folds one record into the history: a document adds or replaces a
// version, a tombstone removes it. Unreadable records are skipped.
func (h history) apply(r *kgo.Record, log func(msg string, args ...any)) {
	name, version, err := plan.ParseKey(string(r.Key))
	if err != nil {
		log("skipping a record with a bad key", "offset", r.Offset, "error", err)
		return
	}
	if r.Value == nil {
		delete(h[name], version)
		if len(h[name]) == 0 {
			delete(h, name)
		}
		return
	}
	doc, err := plan.DecodeVersion(r.Value)
	if err == nil && (doc.Plan != name || doc.Version != version) {
		err = fmt.Errorf("document %s/%d under key %s", doc.Plan, doc.Version, r.Key)
	}
	if err != nil {
		log("skipping an unreadable plan version", "key", string(r.Key), "offset", r.Offset, "error", err)
		return
	}
	if h[name] == nil {
		h[name] = map[int]*plan.Version{}
	}
	h[name][version] = doc
}

// read loads the whole history.
func (s *Store) read(ctx context.Context) (history, error) {
	h := history{}
	err := s.scan(ctx, func(r *kgo.Record) { h.apply(r, s.log.Warn) })
	return h, err
}

// List summarizes every plan on the topic, by name.
func (s *Store) List(ctx context.Context) ([]Summary, error) {
	h, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(h))
	for name, versions := range h {
		l := h.latest(name)
		sum := Summary{Plan: name, Latest: l.Version, Hash: l.Hash, Author: l.Author, PublishedAt: l.PublishedAt}
		for v := range versions {
			sum.Versions = append(sum.Versions, v)
		}
		sort.Ints(sum.Versions)
		out = append(out, sum)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Plan < out[j].Plan })
	return out, nil
}

// Show returns one version of a plan; version 0 means the latest. It
// returns ErrNotFound (wrapped) when there is no such plan or version.
func (s *Store) Show(ctx context.Context, name string, version int) (*plan.Version, error) {
	h, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	var v *plan.Version
	if version == 0 {
		v = h.latest(name)
	} else {
		v = h[name][version]
	}
	if v == nil {
		if version == 0 {
			return nil, fmt.Errorf("plan %q: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("plan %q version %d: %w", name, version, ErrNotFound)
	}
	return v, nil
}
