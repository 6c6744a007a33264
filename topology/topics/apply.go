package topics

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Apply makes the cluster match specs as far as it safely can and returns
// the steps it took. It creates missing topics with every config and sets
// differing configs of existing ones (IncrementalAlterConfigs, so configs
// the specs do not name are left alone). It never adds partitions, changes
// replication, or switches a cleanup policy (see Action); a wrong policy is
// an error, a *PolicyError, because roles refuse to start on it. Failures of
// single topics are joined in the error; the other topics are still applied.
func Apply(ctx context.Context, adm *kadm.Client, specs []Spec) (Steps, error) {
	steps, err := Plan(ctx, adm, specs)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i := range steps {
		st := &steps[i]
		if st.Action == Create {
			st.Err = create(ctx, adm, st.Spec)
			if errors.Is(st.Err, kerr.TopicAlreadyExists) {
				// Another process created it since we looked: it is an
				// existing topic now, to be compared like the others.
				again, err := Plan(ctx, adm, []Spec{st.Spec})
				switch {
				case err != nil:
					st.Err = err
				case again[0].Action == Create: // and deleted again: report the create's error
				default:
					*st = again[0]
				}
			}
		}
		if st.Action == Alter {
			st.Err = alter(ctx, adm, *st)
		}
		switch {
		case st.Err != nil:
			errs = append(errs, st.Err)
		case st.Action == Refuse:
			errs = append(errs, st.policyError())
		}
	}
	return steps, errors.Join(errs...)
}

// Ensure applies specs and reports only the error: the dev wiring's and
// tests' way to have every topic as sluice needs it.
func Ensure(ctx context.Context, adm *kadm.Client, specs []Spec) error {
	_, err := Apply(ctx, adm, specs)
	return err
}

// create creates a topic with every config of its spec.
func create(ctx context.Context, adm *kadm.Client, s Spec) error {
	partitions, rf := s.Partitions, s.ReplicationFactor
	if partitions <= 0 {
		partitions = -1
	}
	if rf <= 0 {
		rf = -1
	}
	configs := map[string]*string{}
	for k, v := range s.Wanted() {
		configs[k] = kadm.StringPtr(v)
	}
	resp, err := adm.CreateTopic(ctx, partitions, rf, configs, s.Name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("topics: create %s: %w%s", s.Name, err, detail(resp.ErrMessage))
	}
	return nil
}

// alter sets the configs of a step's diffs that Apply changes.
func alter(ctx context.Context, adm *kadm.Client, st Step) error {
	var set []kadm.AlterConfig
	for _, d := range st.Diffs {
		if !d.Manual {
			set = append(set, kadm.AlterConfig{Op: kadm.SetConfig, Name: d.Key, Value: kadm.StringPtr(d.Wanted)})
		}
	}
	resps, err := adm.AlterTopicConfigs(ctx, set, st.Spec.Name)
	if err == nil {
		for _, r := range resps {
			if r.Err != nil {
				err = fmt.Errorf("%w%s", r.Err, detail(r.ErrMessage))
			}
		}
	}
	if err != nil {
		return fmt.Errorf("topics: alter configs of %s: %w", st.Spec.Name, err)
	}
	return nil
}

func detail(msg string) string {
	if msg == "" {
		return ""
	}
	return " (" + msg + ")"
}
