package planstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas/plan"
)

// ErrIncompatible is wrapped by the error Publish returns for a plan that
// breaks the compatibility rule; the *IncompatibleError holds the verdict.
var ErrIncompatible = errors.New("planstore: incompatible with the published version")

// ErrConflict is returned when another publish wrote the same version of the
// same plan at the same time; check `plans show` and publish again.
var ErrConflict = errors.New("planstore: concurrent publish of the same version")

// IncompatibleError names every problem that refused a publication.
type IncompatibleError struct {
	Plan     string
	Previous int
	Verdict  plan.Verdict
}

// Error lists the verdict's problems after a one-line summary.
func (e *IncompatibleError) Error() string {
	return fmt.Sprintf("plan %s not published: incompatible with published version %d: %s", e.Plan, e.Previous, strings.TrimSpace(e.Verdict.Text()))
}

// Unwrap makes errors.Is(err, ErrIncompatible) hold.
func (e *IncompatibleError) Unwrap() error { return ErrIncompatible }

// PublishOptions tune Publish. The zero value publishes with the manifest's
// compatibility modes, author "unknown" and the current time.
type PublishOptions struct {
	// Author is recorded in the version; default "unknown".
	Author string
	// Compatibility, when set, replaces every schema's mode for this check.
	Compatibility plan.Compatibility
	// DryRun computes the diff and verdict without writing.
	DryRun bool
	// Now stamps the version; default time.Now.
	Now func() time.Time
}

// PublishResult says what Publish did.
type PublishResult struct {
	Plan string `json:"plan"`
	// Version is the version written, or for an unchanged plan the
	// published version it equals; 0 for dry runs and refusals.
	Version int `json:"version"`
	// Previous is the latest version before this call; 0 when none.
	Previous  int           `json:"previousVersion"`
	Hash      string        `json:"hash"`
	Unchanged bool          `json:"unchanged"`
	Published bool          `json:"published"`
	Changes   plan.Changes  `json:"changes"`
	Verdict   plan.Verdict  `json:"verdict"`
	Document  *plan.Version `json:"-"`
}

// Compare reads the latest published version of p's plan and returns the
// diff and verdict of p against it, as Publish would, without writing.
func (s *Store) Compare(ctx context.Context, p *plan.Plan, force plan.Compatibility) (*PublishResult, error) {
	h, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	return compare(h, p, force)
}

func compare(h history, p *plan.Plan, force plan.Compatibility) (*PublishResult, error) {
	res := &PublishResult{Plan: p.Name(), Hash: p.Hash}
	var prev *plan.Plan
	if latest := h.latest(p.Name()); latest != nil {
		res.Previous = latest.Version
		var err error
		if prev, err = latest.Load(); err != nil {
			return nil, fmt.Errorf("planstore: the published version does not load, so nothing can be compared with it: %w", err)
		}
		if latest.Hash == p.Hash {
			res.Unchanged, res.Version = true, latest.Version
		}
	}
	res.Changes = plan.Diff(prev, p)
	if res.Changes == nil {
		res.Changes = plan.Changes{}
	}
	res.Verdict = plan.CheckCompatibility(prev, p, force)
	return res, nil
}

// Publish writes p as the next version of its plan, after checking it
// against the latest published version. An unchanged plan (equal content
// hash) is not written again: the result says Unchanged. An incompatible
// plan is refused with an *IncompatibleError. The write is idempotent and
// acknowledged by all in-sync replicas before Publish returns.
func (s *Store) Publish(ctx context.Context, p *plan.Plan, opts PublishOptions) (*PublishResult, error) {
	h, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	res, err := compare(h, p, opts.Compatibility)
	if err != nil {
		return nil, err
	}
	if res.Unchanged || opts.DryRun {
		return res, nil
	}
	if !res.Verdict.Compatible {
		return res, &IncompatibleError{Plan: p.Name(), Previous: res.Previous, Verdict: res.Verdict}
	}
	author, now := opts.Author, time.Now
	if author == "" {
		author = "unknown"
	}
	if opts.Now != nil {
		now = opts.Now
	}
	next := res.Previous + 1
	for v := range h[p.Name()] {
		// A withdrawn latest version leaves higher numbers unused; never reuse one.
		if v >= next {
			next = v + 1
		}
	}
	doc := plan.NewVersion(p, next, author, now())
	value, err := doc.Encode()
	if err != nil {
		return nil, fmt.Errorf("planstore: encode: %w", err)
	}
	rec := &kgo.Record{Topic: s.topic, Key: []byte(plan.Key(p.Name(), next)), Value: value}
	if err := s.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return nil, fmt.Errorf("planstore: publish %s version %d: %w", p.Name(), next, err)
	}
	if err := s.checkConflict(ctx, string(rec.Key), doc.Hash); err != nil {
		return nil, err
	}
	res.Version, res.Published, res.Document = next, true, doc
	return res, nil
}

// checkConflict looks for another document under the same key with other
// content: two publishers raced for one version number.
func (s *Store) checkConflict(ctx context.Context, key, hash string) error {
	var other *plan.Version
	err := s.scan(ctx, func(r *kgo.Record) {
		if string(r.Key) != key || r.Value == nil {
			return
		}
		if doc, err := plan.DecodeVersion(r.Value); err == nil && doc.Hash != hash {
			other = doc
		}
	})
	if err != nil {
		return fmt.Errorf("planstore: published %s, but could not verify it: %w", key, err)
	}
	if other != nil {
		return fmt.Errorf("%w: %s was also published by %s at %s", ErrConflict, key, other.Author, other.PublishedAt.Format(time.RFC3339))
	}
	return nil
}
