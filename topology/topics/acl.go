package topics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/topology/config"
)

// Principals name the Kafka principal each role connects as, e.g.
// "User:sluice-router". The zero value names User:sluice-<role>. Admin is
// the principal of the CLI that manages admin tokens and reads the audit
// trail (`sluice tokens`, `sluice audit`); default User:sluice-admin.
type Principals struct {
	API, Router, Sink, Regulator, Admin string
}

func (p Principals) withDefaults() Principals {
	def := func(s *string, role string) {
		if *s == "" {
			*s = "User:sluice-" + role
		}
	}
	def(&p.API, "api")
	def(&p.Router, "router")
	def(&p.Sink, "sink")
	def(&p.Regulator, "regulator")
	def(&p.Admin, "admin")
	return p
}

// AdminTransactionalIDPrefix prefixes the transactional ids of the admin
// CLI, which writes a token and its audit record in one transaction.
const AdminTransactionalIDPrefix = "sluice-admin-"

// ReplayTransactionalIDPrefix prefixes the transactional ids of dead-letter
// replays ("sluice-replay-<destination>"), which the api writes with their
// markers and audit record in one transaction (package topology/deadletters).
const ReplayTransactionalIDPrefix = "sluice-replay-"

// ACL resource types, as kafka-acls.sh names them.
const (
	ResourceTopic           = "topic"
	ResourceGroup           = "group"
	ResourceTransactionalID = "transactional-id"
	ResourceCluster         = "cluster"
)

// ACL is one allow rule. Prefixed matches every resource whose name starts
// with Name.
type ACL struct {
	Principal string
	Resource  string
	Name      string
	Prefixed  bool
	Operation string // Read, Write, Describe, DescribeConfigs, IdempotentWrite, Create
}

// ACLs is the least-privilege rule set of a workspace: each role may read
// and write exactly the topics its code reads and writes, join its own
// consumer group and use its own transactional ids. Everything else is
// refused by a broker that authorizes (a router cannot lift a suppression,
// a sink cannot erase a regulation).
func ACLs(cfg config.Config, p Principals) []ACL {
	p = p.withDefaults()
	n := Names{Prefix: cfg.TopicPrefix}
	var out []ACL
	allow := func(principal, resource, name string, prefixed bool, ops ...string) {
		for _, op := range ops {
			out = append(out, ACL{Principal: principal, Resource: resource, Name: name, Prefixed: prefixed, Operation: op})
		}
	}
	topic := func(principal string, ops []string, bases ...string) {
		for _, b := range bases {
			allow(principal, ResourceTopic, n.Of(b), false, ops...)
		}
	}
	read, write, readWrite := []string{"Read"}, []string{"Write"}, []string{"Read", "Write"}
	for _, principal := range []string{p.API, p.Router, p.Sink, p.Regulator} {
		// Every role checks its topics' cleanup policies at start, and
		// produces idempotently.
		allow(principal, ResourceTopic, cfg.TopicPrefix, true, "Describe", "DescribeConfigs")
		allow(principal, ResourceCluster, "kafka-cluster", false, "IdempotentWrite")
	}

	// api: accepts events, files regulations (suppressions at once),
	// publishes tracking plans, exports a person's records.
	topic(p.API, write, Raw, DeadLetter)
	topic(p.API, readWrite, TrackingPlans, Regulations, Suppressions)
	topic(p.API, read, Identities, Profiles, Consent)
	// It creates a subject's data key before acknowledging its first event.
	topic(p.API, readWrite, Keys)
	// It authenticates admin tokens and records every admin action; it may
	// neither mint a token nor read or rewrite the trail.
	topic(p.API, read, AdminTokens)
	topic(p.API, write, Audit)
	// It lists dead letters and replays a destination's back to its topic,
	// where the sink re-checks suppression, consent and keys as for any event.
	topic(p.API, read, DeadLetter)
	allow(p.API, ResourceTopic, n.Of(destPrefix), true, "Write")
	allow(p.API, ResourceTransactionalID, ReplayTransactionalIDPrefix, true, "Write", "Describe")

	// router: one transaction per batch from events.raw to the destinations
	// and the tables it maintains.
	topic(p.Router, read, Raw, Suppressions, TrackingPlans, Keys)
	topic(p.Router, readWrite, Identities, Consent, Profiles)
	topic(p.Router, write, Violations, DeadLetter)
	allow(p.Router, ResourceTopic, n.Of(destPrefix), true, "Write")
	allow(p.Router, ResourceGroup, "sluice-router", false, "Read")
	allow(p.Router, ResourceTransactionalID, "sluice-router", true, "Write", "Describe")

	// sink: each destination's group re-checks privacy at delivery.
	topic(p.Sink, read, Suppressions, Identities, Consent, TrackingPlans, Keys)
	topic(p.Sink, write, DeadLetter)
	allow(p.Sink, ResourceTopic, n.Of(destPrefix), true, "Read")
	allow(p.Sink, ResourceGroup, "sluice-sink-", true, "Read")

	// regulator: carries regulations out; reads the groups' progress for its
	// in-flight wait; tombstones the per-user tables.
	topic(p.Regulator, readWrite, Regulations)
	topic(p.Regulator, read, Identities)
	topic(p.Regulator, write, Profiles, Consent, Identities)
	// Deleting a subject shreds its data keys: every sealed copy in the
	// streams becomes unreadable.
	topic(p.Regulator, readWrite, Keys)
	// The in-flight wait reads the records between a group's commit and the
	// end offsets, to tell data from transaction markers.
	allow(p.Regulator, ResourceTopic, n.Of(Raw), false, "Read")
	allow(p.Regulator, ResourceTopic, n.Of(destPrefix), true, "Read")
	allow(p.Regulator, ResourceGroup, "sluice-regulator", false, "Read")
	allow(p.Regulator, ResourceGroup, "sluice-router", false, "Describe")
	allow(p.Regulator, ResourceGroup, "sluice-sink-", true, "Describe")

	// admin (the CLI's principal): the only writer of admin tokens, each
	// token written in one transaction with its audit record; the reader of
	// the audit trail. It runs no role: it describes and writes only these.
	allow(p.Admin, ResourceTopic, n.Of(AdminTokens), false, "Describe", "Read", "Write")
	allow(p.Admin, ResourceTopic, n.Of(Audit), false, "Describe", "Read", "Write")
	allow(p.Admin, ResourceCluster, "kafka-cluster", false, "IdempotentWrite")
	allow(p.Admin, ResourceTransactionalID, AdminTransactionalIDPrefix, true, "Write", "Describe")

	// A kafka destination on sluice's own cluster: the sink writes its
	// topic transactionally, and the regulator tombstones it.
	for _, d := range cfg.Destinations {
		if d.Type != config.DestinationKafka || d.Settings["brokers"] != nil {
			continue
		}
		if t, _ := d.Settings["topic"].(string); t != "" {
			allow(p.Sink, ResourceTopic, t, false, "Write")
			allow(p.Regulator, ResourceTopic, t, false, "Write")
		}
		state, _ := d.Settings["stateTopic"].(string)
		if state == "" {
			state = "sluice.sink-state"
		}
		allow(p.Sink, ResourceTopic, state, false, "Read", "Write", "Create")
		prefix, _ := d.Settings["transactionalIdPrefix"].(string)
		if prefix == "" {
			prefix = "sluice-sink"
		}
		allow(p.Sink, ResourceTransactionalID, prefix, true, "Write", "Describe")
	}
	return slices.CompactFunc(out, func(a, b ACL) bool { return a == b })
}

// Command is the kafka-acls.sh command that adds a.
func (a ACL) Command() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kafka-acls.sh --bootstrap-server $BROKERS --command-config $ADMIN_PROPERTIES --add --allow-principal %s --operation %s", a.Principal, a.Operation)
	switch a.Resource {
	case ResourceCluster:
		b.WriteString(" --cluster")
	default:
		fmt.Fprintf(&b, " --%s %s", a.Resource, a.Name)
	}
	if a.Prefixed {
		b.WriteString(" --resource-pattern-type prefixed")
	}
	return b.String()
}

// ApplyACLs creates the rules on the cluster through its admin API (adm's
// principal needs Alter on the cluster). Creating a rule that exists is a
// no-op, so applying twice is safe.
func ApplyACLs(ctx context.Context, adm *kadm.Client, acls []ACL) error {
	var errs []error
	for _, a := range acls {
		op, err := kmsg.ParseACLOperation(a.Operation)
		if err != nil {
			return fmt.Errorf("acl %s: %w", a.Command(), err)
		}
		b := kadm.NewACLs().Allow(a.Principal).Operations(op)
		switch a.Resource {
		case ResourceTopic:
			b = b.Topics(a.Name)
		case ResourceGroup:
			b = b.Groups(a.Name)
		case ResourceTransactionalID:
			b = b.TransactionalIDs(a.Name)
		case ResourceCluster:
			b = b.Clusters()
		default:
			return fmt.Errorf("acl: resource %q: want topic, group, transactional-id or cluster", a.Resource)
		}
		if a.Prefixed {
			b = b.ResourcePatternType(kadm.ACLPatternPrefixed)
		}
		res, err := adm.CreateACLs(ctx, b)
		if err != nil {
			return fmt.Errorf("acl %s %s %s: %w", a.Principal, a.Operation, a.Name, err)
		}
		for _, r := range res {
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("acl %s %s %s: %w %s", a.Principal, a.Operation, a.Name, r.Err, r.ErrMessage))
			}
		}
	}
	return errors.Join(errs...)
}
