package topics

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// applyHint is the command that fixes a missing topic.
const applyHint = "sluice topics apply --config <sluice.yaml>"

// Check is what every role runs before it starts: it returns a *CheckError
// when a topic of specs is missing or has the wrong cleanup policy, nil
// otherwise. Other differences (configs, partitions, replication) do not
// stop a role; Plan lists them. It needs Describe and DescribeConfigs on the
// topics.
func Check(ctx context.Context, adm *kadm.Client, specs []Spec) error {
	steps, err := Plan(ctx, adm, specs)
	if err != nil {
		return err
	}
	var ce CheckError
	for _, st := range steps {
		switch st.Action {
		case Create:
			ce.Missing = append(ce.Missing, st.Spec.Name)
		case Refuse:
			ce.WrongPolicy = append(ce.WrongPolicy, st.policyError())
		}
	}
	if len(ce.Missing) == 0 && len(ce.WrongPolicy) == 0 {
		return nil
	}
	return &ce
}

// CheckError is why a role must not start on this cluster.
type CheckError struct {
	// Missing are the topics that do not exist.
	Missing []string
	// WrongPolicy are the topics whose cleanup policy is not sluice's.
	WrongPolicy []*PolicyError
}

func (e *CheckError) Error() string {
	var parts []string
	if n := len(e.Missing); n == 1 {
		parts = append(parts, fmt.Sprintf("topic %s is missing: run `%s` to create it", e.Missing[0], applyHint))
	} else if n > 1 {
		parts = append(parts, fmt.Sprintf("%d topics are missing (%s): run `%s` to create them", n, strings.Join(e.Missing, ", "), applyHint))
	}
	for _, p := range e.WrongPolicy {
		parts = append(parts, p.Error())
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the policy errors, for errors.As.
func (e *CheckError) Unwrap() []error {
	errs := make([]error, len(e.WrongPolicy))
	for i, p := range e.WrongPolicy {
		errs[i] = p
	}
	return errs
}

// PolicyError is a topic whose cleanup.policy is not the one sluice needs.
// Neither Apply nor Check changes it: that is a decision about its data.
type PolicyError struct {
	Topic string
	// Found is the topic's policy, "" if the broker reports none.
	Found  string
	Wanted string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("topic %s has cleanup.policy %q, sluice needs %q: switching between delete and compact is a decision about "+
		"the topic's data (compact keeps only the last record per key, delete expires records by age), so `sluice topics apply` will not do it; "+
		"decide what happens to its records, then run `kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name %s --add-config cleanup.policy=%s`, "+
		"or delete the topic and run `%s`",
		e.Topic, e.Found, e.Wanted, e.Topic, e.Wanted, applyHint)
}

func (st Step) policyError() *PolicyError {
	pe := &PolicyError{Topic: st.Spec.Name, Wanted: st.Spec.Policy()}
	for _, d := range st.Diffs {
		if d.Key == cleanupPolicy {
			pe.Found = d.Current
		}
	}
	return pe
}
