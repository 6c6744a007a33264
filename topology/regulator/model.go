package regulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sluicehq/sluice/topology/admin"
)

// Type is a regulation type, named as in Segment's Public API.
type Type string

// Regulation types.
const (
	SuppressOnly               Type = "SUPPRESS_ONLY"
	Unsuppress                 Type = "UNSUPPRESS"
	SuppressWithDelete         Type = "SUPPRESS_WITH_DELETE"
	DeleteOnly                 Type = "DELETE_ONLY"
	DeleteInternal             Type = "DELETE_INTERNAL"
	SuppressWithDeleteInternal Type = "SUPPRESS_WITH_DELETE_INTERNAL"
)

// Types lists every regulation type in the order the API documents them.
var Types = []Type{SuppressOnly, Unsuppress, SuppressWithDelete, DeleteOnly, DeleteInternal, SuppressWithDeleteInternal}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool { return slices.Contains(Types, t) }

// Suppresses reports whether t writes suppression records when filed.
func (t Type) Suppresses() bool {
	return t == SuppressOnly || t == SuppressWithDelete || t == SuppressWithDeleteInternal
}

// Deletes reports whether t deletes the subject's data (the regulator's work).
func (t Type) Deletes() bool {
	return t == SuppressWithDelete || t == DeleteOnly || t == DeleteInternal || t == SuppressWithDeleteInternal
}

// Internal reports whether t stays inside sluice: its own ClickHouse tables
// and topics, never forwarded to destinations.
func (t Type) Internal() bool { return t == DeleteInternal || t == SuppressWithDeleteInternal }

// SubjectType says what the subject ids of a regulation are.
type SubjectType string

// Subject types.
const (
	UserID      SubjectType = "USER_ID"
	AnonymousID SubjectType = "ANONYMOUS_ID"
)

// Valid reports whether s is USER_ID or ANONYMOUS_ID.
func (s SubjectType) Valid() bool { return s == UserID || s == AnonymousID }

// Status is the state of a regulation, one of its steps or one destination.
type Status string

// Statuses, as DESIGN names them.
const (
	Initialized    Status = "INITIALIZED"
	Running        Status = "RUNNING"
	PartialSuccess Status = "PARTIAL_SUCCESS"
	Failed         Status = "FAILED"
	Finished       Status = "FINISHED"
	Invalid        Status = "INVALID"
	NotSupported   Status = "NOT_SUPPORTED"
)

// Statuses lists every status.
var Statuses = []Status{Initialized, Running, PartialSuccess, Failed, Finished, Invalid, NotSupported}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Terminal reports whether nothing more will happen to a regulation, step or
// destination in status s.
func (s Status) Terminal() bool { return s != Initialized && s != Running }

// Limits of a request.
const (
	// MaxSubjectIDs caps the subject ids of one request, as Segment does.
	MaxSubjectIDs = 5000
	// MaxSubjectIDBytes caps one subject id; it keeps a regulation record of
	// 5,000 ids well under the regulations topic's record limit.
	MaxSubjectIDBytes = 256
	// MaxBodyBytes caps a POST /v1/regulations body.
	MaxBodyBytes = 4 << 20
	// MaxIdempotencyKeyBytes caps the Idempotency-Key header.
	MaxIdempotencyKeyBytes = 255
)

// Request is what was asked: the body of POST /v1/regulations plus when and
// under which idempotency key it was filed.
type Request struct {
	RegulationType Type        `json:"regulationType"`
	SubjectType    SubjectType `json:"subjectType"`
	SubjectIDs     []string    `json:"subjectIds"`
	CreatedAt      time.Time   `json:"createdAt"`
	IdempotencyKey string      `json:"idempotencyKey,omitempty"`
}

// Regulation is one filed request and everything done for it: the value of
// its record in the compacted regulations topic (key: ID) and the answer of
// GET /v1/regulations/{id}.
type Regulation struct {
	ID            string  `json:"id"`
	Workspace     string  `json:"workspace"`
	Request       Request `json:"request"`
	OverallStatus Status  `json:"overallStatus"`
	// Destinations is the status of every configured destination; for
	// SUPPRESS_ONLY and UNSUPPRESS it is empty (suppression is central).
	Destinations []DestinationStatus `json:"destinations"`
	// Steps are sluice's own steps: suppress, unsuppress, in-flight, topics,
	// keys (crypto-shredding), clickhouse (the verification count).
	Steps []Step `json:"steps"`
	// Attempts counts the regulator's attempts that hit a failure.
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
	// Revision grows by one with every write; a reader keeps the highest.
	Revision int64 `json:"revision"`
	// Progress is what a regulator needs to resume after a crash.
	Progress Progress `json:"progress"`
	// FiledBy is who filed the regulation: the holder, id and role of the
	// admin token (package topology/admin); absent when filed without one.
	FiledBy *admin.Actor `json:"filedBy,omitempty"`
	// Purge follows the deleted data after the end (FINISHED or
	// PARTIAL_SUCCESS): when ClickHouse's replaced parts left the disks,
	// and by when the compacted topics drop the tombstoned values (purge.go).
	// Nil before, and for types that do not delete.
	Purge *Purge `json:"purge,omitempty"`
	// LateLinks are the anonymousIds linked to the subjects after the end,
	// each with the regulation filed for it (SUPPRESS_WITH_DELETE* only;
	// see followLinks).
	LateLinks []LateLink `json:"lateLinks,omitempty"`
}

// Purge is what happens to a regulation's deleted data after its end.
type Purge struct {
	// ClickHouse follows the warehouse's parts; nil without a warehouse.
	ClickHouse *ClickHousePurge `json:"clickhouse,omitempty"`
	// Kafka is the compaction bound of the tombstoned topics; nil until
	// the regulator has read the topics' configs.
	Kafka *KafkaPurge `json:"kafka,omitempty"`
}

// ClickHousePurge follows the ClickHouse parts that held a regulation's
// rows, from the rows' deletion to the parts' removal from disk.
type ClickHousePurge struct {
	// Status is RUNNING until PurgedAt, then FINISHED; NOT_SUPPORTED when
	// the warehouse cannot tell.
	Status Status `json:"status"`
	// UnreachableAt is when every table was verified to hold no row of the
	// subjects in any part, masked or not: from then on no query returns
	// one, whatever its settings (the clickhouse step's finishedAt).
	UnreachableAt time.Time `json:"unreachableAt"`
	// DueBy is UnreachableAt plus the warehouse's purge bound (the
	// clickhouse destination's purgeWithin).
	DueBy *time.Time `json:"dueBy,omitempty"`
	// PurgedAt is when the regulator saw, in the servers' own list of
	// parts (system.parts), that no part replaced before UnreachableAt
	// was left on any disk: the rows' bytes are gone.
	PurgedAt *time.Time `json:"purgedAt,omitempty"`
	// Detail says what it waits for.
	Detail string `json:"detail,omitempty"`
}

// KafkaPurge bounds when the compacted topics forget a regulation's
// subjects (package topology/topics: "How long a deleted value stays on
// the broker"). It is computed from the topics' configs, not observed.
type KafkaPurge struct {
	// TombstonedAt is when the broker acknowledged the last tombstones
	// (the topics and keys steps' finishedAt).
	TombstonedAt time.Time `json:"tombstonedAt"`
	// ValuesGoneBy is TombstonedAt plus the largest segment.ms of the
	// topics: the replaced values are compacted away by then.
	ValuesGoneBy time.Time `json:"valuesGoneBy"`
	// TombstonesGoneBy adds the largest delete.retention.ms: by then the
	// tombstones, whose keys name the subjects, are gone too.
	TombstonesGoneBy time.Time `json:"tombstonesGoneBy"`
	// Topics are the configs the bound comes from.
	Topics []TopicCompaction `json:"topics,omitempty"`
	// Detail says what the bound assumes.
	Detail string `json:"detail,omitempty"`
}

// TopicCompaction is one tombstoned topic's compaction configs.
type TopicCompaction struct {
	Topic             string `json:"topic"`
	SegmentMs         int64  `json:"segmentMs"`
	DeleteRetentionMs int64  `json:"deleteRetentionMs"`
}

// DestinationStatus is one destination's part of a regulation.
type DestinationStatus struct {
	Name       string     `json:"name"`
	Status     Status     `json:"status"`
	Error      string     `json:"error"`
	FinishedAt *time.Time `json:"finishedAt"`
	Attempts   int        `json:"attempts,omitempty"`
	Receipt    *Receipt   `json:"receipt,omitempty"`
}

// Step is one of sluice's own steps of a regulation.
type Step struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Error  string `json:"error"`
	// Detail says what the step is doing, e.g. which group it waits for.
	Detail     string     `json:"detail,omitempty"`
	FinishedAt *time.Time `json:"finishedAt"`
	Receipt    *Receipt   `json:"receipt,omitempty"`
}

// Step names.
const (
	StepSuppress   = "suppress"
	StepUnsuppress = "unsuppress"
	StepInFlight   = "in-flight"
	StepTopics     = "topics"
	StepKeys       = "keys"
	StepClickHouse = "clickhouse"
)

// Receipt is the evidence of one step or destination: what was run, what it
// touched, and what the other side answered.
type Receipt struct {
	At time.Time `json:"at"`
	// Statements are the statements run, with long id lists elided.
	Statements []string `json:"statements,omitempty"`
	// Tables are row counts of the regulation's subjects per ClickHouse table.
	Tables []TableRows `json:"tables,omitempty"`
	// RowsBefore and RowsAfter total Tables, or what a destination reported.
	RowsBefore *int64 `json:"rowsBefore,omitempty"`
	RowsAfter  *int64 `json:"rowsAfter,omitempty"`
	// HTTPStatus is a webhook destination's answer.
	HTTPStatus int `json:"httpStatus,omitempty"`
	// Records counts the records written (suppressions, tombstones).
	Records int `json:"records,omitempty"`
	// KeysShredded counts the data keys the keys step tombstoned for the
	// regulation: its subjects', its linked anonymousIds', and the
	// unattributed day keys (At says when).
	KeysShredded *int `json:"keysShredded,omitempty"`
	// Offsets are where records were written, or the offsets waited for.
	Offsets []Offset `json:"offsets,omitempty"`
	// Batch says how many regulations and subjects shared the call.
	Batch *BatchInfo `json:"batch,omitempty"`
	// Detail is anything else the destination said.
	Detail string `json:"detail,omitempty"`
}

// TableRows counts a regulation's rows in one ClickHouse table.
type TableRows struct {
	Table      string `json:"table"`
	RowsBefore int64  `json:"rowsBefore"`
	RowsAfter  int64  `json:"rowsAfter"`
}

// Offset is a position in a topic partition, and the group it concerns, if any.
type Offset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Group     string `json:"group,omitempty"`
}

// BatchInfo describes a batched call.
type BatchInfo struct {
	Regulations int `json:"regulations"`
	Subjects    int `json:"subjects"`
}

// Progress is the regulator's resumable state of a regulation.
type Progress struct {
	// Linked are the anonymousIds found linked to the USER_ID subjects,
	// saved before their identities links are tombstoned.
	Linked []LinkedIDs `json:"linked,omitempty"`
	// LinksResolved is set once Linked is complete (after the in-flight wait).
	LinksResolved bool `json:"linksResolved,omitempty"`
	// Raw and Dest are the end offsets the in-flight wait waits for; Dest
	// is taken once the router has passed Raw.
	Raw  map[int32]int64            `json:"raw,omitempty"`
	Dest map[string]map[int32]int64 `json:"dest,omitempty"`
}

// LinkedIDs are the anonymousIds linked to one userId.
type LinkedIDs struct {
	UserID       string   `json:"userId"`
	AnonymousIDs []string `json:"anonymousIds"`
}

// Summary is a regulation without its subject ids: an item of
// GET /v1/regulations.
type Summary struct {
	ID             string              `json:"id"`
	RegulationType Type                `json:"regulationType"`
	SubjectType    SubjectType         `json:"subjectType"`
	Subjects       int                 `json:"subjects"`
	OverallStatus  Status              `json:"overallStatus"`
	Destinations   []DestinationStatus `json:"destinations"`
	CreatedAt      time.Time           `json:"createdAt"`
	FinishedAt     *time.Time          `json:"finishedAt,omitempty"`
}

// Summary returns r without its subject ids and receipts.
func (r *Regulation) Summary() Summary {
	dests := make([]DestinationStatus, len(r.Destinations))
	for i, d := range r.Destinations {
		d.Receipt = nil
		dests[i] = d
	}
	return Summary{
		ID: r.ID, RegulationType: r.Request.RegulationType, SubjectType: r.Request.SubjectType,
		Subjects: len(r.Request.SubjectIDs), OverallStatus: r.OverallStatus, Destinations: dests,
		CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt,
	}
}

// clone returns a deep copy of r, so a writer can change it while readers
// hold the stored one.
func (r *Regulation) clone() *Regulation {
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("regulator: a regulation does not encode: %v", err)) // only plain data: cannot happen
	}
	var c Regulation
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("regulator: a regulation does not decode: %v", err))
	}
	return &c
}

// step returns the named step, or nil.
func (r *Regulation) step(name string) *Step {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// destination returns the named destination's status, or nil.
func (r *Regulation) destination(name string) *DestinationStatus {
	for i := range r.Destinations {
		if r.Destinations[i].Name == name {
			return &r.Destinations[i]
		}
	}
	return nil
}

// anonymousIDs returns every anonymousId the regulation deletes: its
// subjects when they are anonymousIds, else the linked ones.
func (r *Regulation) anonymousIDs() []string {
	if r.Request.SubjectType == AnonymousID {
		return r.Request.SubjectIDs
	}
	var out []string
	for _, l := range r.Progress.Linked {
		out = append(out, l.AnonymousIDs...)
	}
	return out
}

// userIDs returns the regulation's userIds (none for ANONYMOUS_ID subjects).
func (r *Regulation) userIDs() []string {
	if r.Request.SubjectType == UserID {
		return r.Request.SubjectIDs
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
