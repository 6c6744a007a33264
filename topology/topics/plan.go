package topics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Action is what Apply does with one topic.
type Action int

const (
	// OK: the topic exists as wanted (more partitions than wanted is fine).
	OK Action = iota
	// Create: the topic is missing; Apply creates it with every config.
	Create
	// Alter: configs differ; Apply sets them. Diffs marked Manual stay.
	Alter
	// Keep: only partitions or replication differ, which Apply reports and
	// leaves (see Diff.Reason).
	Keep
	// Refuse: the cleanup policy differs. Apply changes nothing on the topic:
	// switching between delete and compact is a decision about its data.
	Refuse
)

func (a Action) String() string {
	return [...]string{"ok", "create", "alter", "keep", "refuse"}[a]
}

// Diff is one way an existing topic differs from its Spec.
type Diff struct {
	// Key is a config name, or "partitions" or "replication.factor".
	Key string
	// Current is the topic's value, "" when the broker reports none.
	Current string
	// Wanted is the Spec's value.
	Wanted string
	// Manual says Apply leaves it; Reason says why.
	Manual bool
	Reason string
}

// Diff keys that are not configs.
const (
	KeyPartitions        = "partitions"
	KeyReplicationFactor = "replication.factor"
)

// Reasons Apply leaves a difference.
const (
	reasonPolicy      = "switching it is a decision about the topic's data"
	reasonPartitions  = "adding partitions moves keys and breaks per-user order"
	reasonReplication = "changing it is a partition reassignment"
	reasonFollows     = "until cleanup.policy is right"
)

// Step is one topic's part of a plan: what Apply would do with it, or did.
type Step struct {
	Spec   Spec
	Action Action
	// Diffs are the differences of an existing topic: configs in key order,
	// then partitions and replication.
	Diffs []Diff
	// Err is why Apply failed to create or alter the topic; nil in a plan.
	Err error
}

// Steps is a plan: one Step per Spec, in the specs' order.
type Steps []Step

// Plan compares specs with the cluster: which topics are missing, which are
// as wanted, and how existing ones differ in partitions, replication and the
// configs the specs set. It changes nothing.
func Plan(ctx context.Context, adm *kadm.Client, specs []Spec) (Steps, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	// kadm answers ListTopics from a metadata cache of a few seconds, which
	// would show a topic we just created as missing. Asking for authorized
	// operations is the one way kadm offers to bypass the cache.
	details, err := adm.ListTopics(kadm.WithAuthorizedOps(ctx), names...)
	if err != nil {
		return nil, fmt.Errorf("topics: list: %w", err)
	}
	var existing []string
	for _, n := range names {
		d, ok := details[n]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
		case d.Err != nil:
			return nil, fmt.Errorf("topics: list %s: %w", n, d.Err)
		default:
			existing = append(existing, n)
		}
	}
	configs := map[string]map[string]string{}
	if len(existing) > 0 {
		rcs, err := adm.DescribeTopicConfigs(ctx, existing...)
		if err != nil {
			return nil, fmt.Errorf("topics: describe configs: %w", err)
		}
		for _, rc := range rcs {
			if rc.Err != nil {
				return nil, fmt.Errorf("topics: describe configs of %s: %w", rc.Name, rc.Err)
			}
			m := make(map[string]string, len(rc.Configs))
			for _, c := range rc.Configs {
				m[c.Key] = c.MaybeValue()
			}
			configs[rc.Name] = m
		}
	}
	steps := make(Steps, len(specs))
	for i, s := range specs {
		d, ok := details[s.Name]
		if !ok || d.Err != nil {
			steps[i] = Step{Spec: s, Action: Create}
			continue
		}
		steps[i] = compare(s, d, configs[s.Name])
	}
	return steps, nil
}

// compare is the step of an existing topic with configs current.
func compare(s Spec, d kadm.TopicDetail, current map[string]string) Step {
	st := Step{Spec: s}
	wanted := s.Wanted()
	keys := slices.Sorted(maps.Keys(wanted))
	policyWrong := !sameValue(cleanupPolicy, current[cleanupPolicy], wanted[cleanupPolicy])
	var alter bool
	for _, k := range keys {
		if sameValue(k, current[k], wanted[k]) {
			continue
		}
		diff := Diff{Key: k, Current: current[k], Wanted: wanted[k]}
		switch {
		case k == cleanupPolicy:
			diff.Manual, diff.Reason = true, reasonPolicy
		case policyWrong:
			diff.Manual, diff.Reason = true, reasonFollows
		default:
			alter = true
		}
		st.Diffs = append(st.Diffs, diff)
	}
	if n := int32(len(d.Partitions)); s.Partitions > 0 && n < s.Partitions {
		st.Diffs = append(st.Diffs, Diff{Key: KeyPartitions, Current: itoa(n), Wanted: itoa(s.Partitions), Manual: true, Reason: reasonPartitions})
	}
	if rf := replicas(d); s.ReplicationFactor > 0 && rf >= 0 && rf != int(s.ReplicationFactor) {
		st.Diffs = append(st.Diffs, Diff{Key: KeyReplicationFactor, Current: itoa(rf), Wanted: itoa(s.ReplicationFactor), Manual: true, Reason: reasonReplication})
	}
	switch {
	case policyWrong:
		st.Action = Refuse
	case alter:
		st.Action = Alter
	case len(st.Diffs) > 0:
		st.Action = Keep
	}
	return st
}

// replicas is the replication factor of a topic: its first partition's
// replica count, -1 if it has no partitions.
func replicas(d kadm.TopicDetail) int {
	for _, p := range d.Partitions {
		return len(p.Replicas)
	}
	return -1
}

// sameValue compares config values as the broker means them: numbers by
// value ("0.10" is "0.1"), lists such as cleanup.policy as sets.
func sameValue(key, current, wanted string) bool {
	if current == wanted {
		return true
	}
	if key == cleanupPolicy {
		return slices.Equal(listValue(current), listValue(wanted))
	}
	a, errA := strconv.ParseFloat(current, 64)
	b, errB := strconv.ParseFloat(wanted, 64)
	return errA == nil && errB == nil && a == b
}

func listValue(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

func itoa[T int | int16 | int32](n T) string { return strconv.Itoa(int(n)) }
