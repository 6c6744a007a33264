// Package topics names sluice's Kafka topics and creates them with the cleanup
// policy each one needs (DESIGN: compacted tables, deleted streams).
package topics

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Topic base names, before the prefix.
const (
	Raw           = "events.raw"
	TrackingPlans = "tracking-plans"
	Suppressions  = "suppressions"
	Consent       = "consent"
	Profiles      = "profiles"
	Identities    = "identities"
	Regulations   = "regulations"
	Violations    = "violations"
	DeadLetter    = "deadletter"
	destPrefix    = "dest."
)

// compacted are the tables: the latest value per key is what counts and a
// tombstone deletes the key.
var compacted = map[string]bool{
	TrackingPlans: true, Suppressions: true, Consent: true,
	Profiles: true, Identities: true, Regulations: true,
}

// Names resolves topic names under a prefix.
type Names struct {
	// Prefix prefixes every topic; "sluice." in the default config.
	Prefix string
}

// Of returns the full name of a base topic, e.g. Of(Raw) = "sluice.events.raw".
func (n Names) Of(base string) string { return n.Prefix + base }

// Destination returns the topic of a destination, e.g. "sluice.dest.warehouse".
func (n Names) Destination(name string) string { return n.Prefix + destPrefix + name }

// Spec is a topic to create.
type Spec struct {
	Name       string
	Partitions int32
	Compacted  bool
}

// All lists every topic a workspace needs: the fixed ones plus one per destination.
func (n Names) All(partitions int32, destinations []string) []Spec {
	bases := []string{Raw, TrackingPlans, Suppressions, Consent, Profiles, Identities, Regulations, Violations, DeadLetter}
	specs := make([]Spec, 0, len(bases)+len(destinations))
	for _, b := range bases {
		specs = append(specs, Spec{Name: n.Of(b), Partitions: partitions, Compacted: compacted[b]})
	}
	for _, d := range destinations {
		specs = append(specs, Spec{Name: n.Destination(d), Partitions: partitions})
	}
	return specs
}

// Ensure creates the topics that do not exist yet. Existing topics are left as
// they are; it does not change their partitions or configs.
func Ensure(ctx context.Context, adm *kadm.Client, specs []Spec) error {
	var errs []error
	for _, s := range specs {
		policy := "delete"
		if s.Compacted {
			policy = "compact"
		}
		cfg := map[string]*string{"cleanup.policy": &policy}
		resp, err := adm.CreateTopic(ctx, s.Partitions, -1, cfg, s.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}
