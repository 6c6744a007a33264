package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/topics"
)

// Phase says which part of an action an audit record tells.
type Phase string

// Phases. An admin request is recorded twice under one ID: PhaseBegin
// before anything is done (who, from where, what, whose data), PhaseEnd
// after the answer (status, rows, regulation id). Refusals, token changes
// and observations are one PhaseOnce record.
const (
	PhaseBegin Phase = "begin"
	PhaseEnd   Phase = "end"
	PhaseOnce  Phase = "once"
)

// Actions that are not an admin route (those are named by their Scope).
const (
	ActionTokenCreate       = "tokens.create"
	ActionTokenRevoke       = "tokens.revoke"
	ActionRegulationErased  = "regulations.erased"
	ActionUnauthorizedToken = "auth.revoked-token"
	// ActionDeadLetterReplay is a replay of dead letters to their
	// destination (package topology/deadletters), written in the replay's
	// transaction.
	ActionDeadLetterReplay = "deadletters.replay"
)

// Record is one record of the audit topic (key: ID). It says who did what
// to whose data, when, from where, and how it ended. It never holds event
// payloads, request bodies or exported rows: only the fields below.
type Record struct {
	// ID names the action; its begin and end records share it, and admin
	// answers carry it in X-Sluice-Audit-Id.
	ID    string    `json:"id"`
	Phase Phase     `json:"phase"`
	At    time.Time `json:"at"`
	// Actor is who: the token's holder, id and role. For the CLI, the
	// operating-system user and host it ran as, role "cli".
	Actor
	// Principal is the Kafka principal (SASL user) the CLI connected as.
	Principal string `json:"principal,omitempty"`
	// Remote is the client's address: the HTTP connection's peer, or the
	// address a trusted proxy (--trusted-proxy) forwarded.
	Remote string `json:"remote,omitempty"`
	// Via is the trusted proxy's address when Remote was forwarded.
	Via string `json:"via,omitempty"`
	// Server is the host of the process that wrote the record.
	Server string `json:"server,omitempty"`
	// Action is the route's scope (e.g. "export"), or one of the Action
	// constants.
	Action string `json:"action"`
	Method string `json:"method,omitempty"`
	// Route is the route's pattern, e.g. "GET /v1/users/{id}/export".
	Route          string   `json:"route,omitempty"`
	SubjectType    string   `json:"subjectType,omitempty"`
	SubjectIDs     []string `json:"subjectIds,omitempty"`
	RegulationID   string   `json:"regulationId,omitempty"`
	RegulationType string   `json:"regulationType,omitempty"`
	Plan           string   `json:"plan,omitempty"`
	PlanVersion    int      `json:"planVersion,omitempty"`
	// Token is the token created or revoked.
	Token *TokenRef `json:"token,omitempty"`
	// Destination, Filter and Counts tell a dead-letter replay: the
	// destination replayed to, the selection, and what became of it
	// (replayed, skipped and why). Never the events.
	Destination string           `json:"destination,omitempty"`
	Filter      string           `json:"filter,omitempty"`
	Counts      map[string]int64 `json:"counts,omitempty"`
	// Status is the HTTP status answered; 0 in a begin record.
	Status int `json:"status,omitempty"`
	// Rows counts the rows (records) an export returned.
	Rows *int64 `json:"rows,omitempty"`
	// Detail says more about the outcome: an error, why a request was
	// refused, what an erasure was.
	Detail string `json:"detail,omitempty"`
}

// TokenRef names a token an action created or revoked.
type TokenRef struct {
	ID     string `json:"id"`
	Holder string `json:"holder"`
	Role   Role   `json:"role"`
}

// newActionID returns a new record ID.
func newActionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "au_" + hex.EncodeToString(b[:])
}

// encode is the record's value: JSON without HTML escaping, so that ids
// keep their size.
func (r *Record) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// NewOnce returns a once record of action by actor, stamped now, with a
// new ID and this host as its Server.
func NewOnce(actor Actor, action string) *Record {
	host, _ := os.Hostname()
	return &Record{ID: newActionID(), Phase: PhaseOnce, At: time.Now().UTC(), Actor: actor, Server: host, Action: action}
}

// Kafka returns rec as a record of the audit topic, for a caller that
// writes it in a transaction of its own.
func (r *Record) Kafka(topic string) (*kgo.Record, error) { return r.kafka(topic) }

func (r *Record) kafka(topic string) (*kgo.Record, error) {
	v, err := r.encode()
	if err != nil {
		return nil, fmt.Errorf("admin: encode audit record: %w", err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(r.ID), Value: v}, nil
}

// ProducerOpts are the options of a client that writes the audit topic:
// acks from every in-sync replica, records as large as the topic takes.
func ProducerOpts(deliveryTimeout time.Duration) []kgo.Opt {
	return []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchMaxBytes(topics.RegulationsMaxBytes),
		kgo.ProducerLinger(time.Millisecond),
		kgo.RecordDeliveryTimeout(max(deliveryTimeout, time.Second)),
	}
}

// Auditor writes the audit topic.
type Auditor struct {
	cl     *kgo.Client
	topic  string
	server string
	log    *slog.Logger
}

// DefaultWriteTimeout bounds one audit write.
const DefaultWriteTimeout = 10 * time.Second

// NewAuditor connects to the cluster of seeds (opts: TLS, SASL) to write topic.
func NewAuditor(seeds []string, opts []kgo.Opt, topic string, log *slog.Logger) (*Auditor, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, ProducerOpts(DefaultWriteTimeout)...), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	host, _ := os.Hostname()
	return &Auditor{cl: cl, topic: topic, server: host, log: log}, nil
}

// Close releases the connection.
func (a *Auditor) Close() { a.cl.Close() }

// Write records rec and returns once the broker has it.
func (a *Auditor) Write(ctx context.Context, rec *Record) error {
	rec.Server = a.server
	kr, err := rec.kafka(a.topic)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultWriteTimeout)
	defer cancel()
	if err := a.cl.ProduceSync(ctx, kr).FirstErr(); err != nil {
		return fmt.Errorf("admin: write the audit record: %w", err)
	}
	return nil
}

// RegulationErased records that a regulation was erased from the
// regulations topic (a tombstone, or a record sluice cannot read, which
// compaction would keep in place of the regulation). It is the hook of
// regulator.Config.Erased: called on the follower's goroutine, it does not
// wait for the broker, and a failure is logged.
func (a *Auditor) RegulationErased(id, detail string) {
	rec := &Record{
		ID: newActionID(), Phase: PhaseOnce, At: time.Now().UTC(),
		// Kafka does not say who wrote a record: the ACLs say who could.
		Actor:  Actor{Holder: "unknown"},
		Server: a.server, Action: ActionRegulationErased, RegulationID: id, Detail: detail,
	}
	kr, err := rec.kafka(a.topic)
	if err != nil {
		a.log.Error("admin: audit record of an erased regulation", "regulation", id, "err", err)
		return
	}
	a.cl.Produce(context.Background(), kr, func(_ *kgo.Record, err error) {
		if err != nil {
			a.log.Error("admin: could not record an erased regulation in the audit trail", "regulation", id, "err", err)
		}
	})
}
