package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/filter"
	"github.com/sluicehq/sluice/processors/profiles"
	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/processors/validate"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/topics"
)

// pipeline judges events: decode → dedup → suppress → (table updates) →
// validate → consent → filter → route. It is shared by every partition
// worker and safe for concurrent use; per-goroutine scratch lives in scratch.
type pipeline struct {
	names       topics.Names
	plans       map[string]string // source name → tracking plan
	suppress    *suppress.Stage
	identities  *suppress.Identities
	consent     *consent.Store
	profiles    *profiles.Store
	categories  *consent.Categories
	whenMissing consent.WhenMissing
	validator   *validate.Validator
	dests       []destination
	metrics     *metrics
	// keys opens events.raw values and seals every stream-topic output
	// under the event's data key; nil when encryption is disabled.
	keys *shred.Table
}

// scratch is one worker's reusable state.
type scratch struct {
	ev         schemas.Event
	res        validate.Result
	annotation []byte
	// The event's envelope (see open and seal): whether it was sealed, its
	// key, its plaintext, and the last value sealed for its outputs.
	sealed                bool
	kid                   shred.KeyID
	plain                 []byte
	lastPlain, lastSealed []byte
}

// route judges one events.raw record and appends what to produce to out.
// seen reports whether the record's messageId is a duplicate within the
// window and remembers it otherwise. Table updates the event implies
// (consent, identities) are applied locally at once, so later events of the
// same partition see them; replaying the same records re-applies the same
// values, so an aborted transaction leaves nothing wrong behind.
func (p *pipeline) route(s *scratch, rec *kgo.Record, seen func(workspace, messageID string, at time.Time) bool, out []*kgo.Record) []*kgo.Record {
	m := p.metrics
	ev := &s.ev
	plain, ok := p.open(s, rec)
	if !ok {
		return out
	}
	if err := schemas.DecodeRaw(plain, ev); err != nil {
		m.dropped("decode")
		return p.emit(s, rec, out, p.deadLetter(rec, plain, "undecodable events.raw value: "+err.Error()))
	}
	if seen(ev.Workspace, ev.MessageID, ev.ReceivedAt) {
		m.dropped("duplicate")
		return out
	}
	// Links are recorded even for suppressed users: they are what keeps a
	// suppressed user's later anonymous events (a new device) suppressed.
	out = p.links(ev, out)
	if drop, reason := p.suppress.Decide(ev.Workspace, ev.UserID, ev.AnonymousID); drop {
		m.dropped("suppressed_" + string(reason))
		return out
	}
	out, ok = p.updateTables(s, ev, rec, plain, out)
	if !ok {
		return out
	}

	// Validation.
	props := ev.Properties
	traitsCall := ev.Type == schemas.Identify || ev.Type == schemas.Group
	if traitsCall {
		props = ev.Traits
	}
	protocols := gjson.GetBytes(ev.Context, "protocols")
	in := validate.Input{
		Plan:         p.plans[ev.Source],
		Type:         string(ev.Type),
		Event:        ev.Event,
		EventVersion: eventVersion(protocols),
		Properties:   props,
	}
	if err := p.validator.Validate(in, &s.res); err != nil {
		m.dropped("malformed")
		return p.emit(s, rec, out, p.deadLetter(rec, plain, "validate: "+err.Error()))
	}
	res := &s.res
	if res.Outcome == validate.Blocked {
		m.dropped("blocked")
		if res.ToViolations {
			out = p.emit(s, rec, out, p.violation(rec, plain, res.Violations))
		}
		return out
	}
	// value is what is routed where filters change nothing: the input bytes
	// themselves when the stages changed nothing either.
	value := plain
	reencode := res.Outcome == validate.Omitted
	if reencode {
		if traitsCall {
			ev.Traits = res.Properties
		} else {
			ev.Properties = res.Properties
		}
	}
	if res.Schema != nil {
		s.annotation = annotate(s.annotation[:0], ev.Context, protocols, in.Plan, res)
		spliced, ok := splice(plain, ev.Context, s.annotation)
		ev.Context = s.annotation
		if ok && !reencode {
			value = spliced // the common case: one copy instead of an encode
		} else {
			reencode = true
		}
	}
	if reencode {
		value = ev.AppendRaw(make([]byte, 0, len(plain)+len(ev.Context)))
	}

	// Consent, integrations and filters, per destination.
	eventPrefs, err := p.categories.EventPrefs(ev.Context)
	if err != nil {
		m.consentError()
	}
	var stored consent.Prefs
	storedLoaded := false
	fev := filter.Event{Type: string(ev.Type), Event: ev.Event, UserID: ev.UserID, AnonymousID: ev.AnonymousID,
		MessageID: ev.MessageID, Properties: ev.Properties, Context: ev.Context, Traits: ev.Traits}
	routed := 0
	var midHeader []kgo.RecordHeader // the messageId hash every dest.* record carries
	for i := range p.dests {
		d := &p.dests[i]
		if d.mask != 0 && !eventPrefs.Known && !storedLoaded {
			stored, err = p.consent.Lookup(ev.Workspace, ev.UserID, ev.AnonymousID)
			if err != nil {
				m.consentError() // Lookup grants nothing on error: fail closed.
			}
			storedLoaded = true
		}
		allow, decision := consent.Decide(d.mask, eventPrefs, stored, p.whenMissing)
		d.counters.consent(decision, allow)
		if !allow {
			continue
		}
		if !integrationsAllow(ev.Integrations, d.name) {
			d.counters.filtered("integrations")
			continue
		}
		fr := d.filter.Apply(fev)
		if !fr.Keep {
			d.counters.filtered(string(fr.Reason))
			continue
		}
		v := value
		if !sameBytes(fr.Properties, ev.Properties) {
			routedEv := *ev
			routedEv.Properties = fr.Properties
			v = routedEv.AppendRaw(make([]byte, 0, len(value)))
		}
		if v, ok = p.seal(s, rec, v); !ok {
			continue
		}
		if midHeader == nil {
			midHeader = []kgo.RecordHeader{topics.MessageHashHeader(ev.Workspace, ev.MessageID)}
		}
		out = append(out, &kgo.Record{Topic: d.topic, Key: rec.Key, Value: v, Headers: midHeader})
		routed++
	}
	m.routed(routed)
	return out
}

// splice returns a copy of value with part (a subslice of value, as DecodeRaw
// leaves the raw fields) replaced by with; ok is false when part is not
// inside value.
func splice(value, part, with []byte) (_ []byte, ok bool) {
	if len(part) == 0 || len(value) == 0 {
		return nil, false
	}
	start := int(uintptr(unsafe.Pointer(unsafe.SliceData(part))) - uintptr(unsafe.Pointer(unsafe.SliceData(value))))
	if start < 0 || start+len(part) > len(value) {
		return nil, false
	}
	out := make([]byte, 0, len(value)-len(part)+len(with))
	out = append(out, value[:start]...)
	out = append(out, with...)
	return append(out, value[start+len(part):]...), true
}

// sameBytes reports whether a and b are the same slice (not merely equal):
// filters return their input when they change nothing.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

// links records the anonymousId → userId links identify and alias calls make.
func (p *pipeline) links(ev *schemas.Event, out []*kgo.Record) []*kgo.Record {
	switch {
	case ev.Type == schemas.Identify && ev.UserID != "" && ev.AnonymousID != "":
		return p.link(ev, ev.AnonymousID, out)
	case ev.Type == schemas.Alias && ev.PreviousID != "" && ev.UserID != "":
		return p.link(ev, ev.PreviousID, out)
	}
	return out
}

// updateTables writes what identify and consent events say about their user
// to the compacted topics, and applies it locally (profiles as part of the
// open transaction). ok is false when the event itself is refused.
func (p *pipeline) updateTables(s *scratch, ev *schemas.Event, rec *kgo.Record, plain []byte, out []*kgo.Record) (_ []*kgo.Record, ok bool) {
	switch {
	case ev.Type == schemas.Track && ev.Event == consent.PreferenceUpdatedEvent:
		r, err := consent.RecordFromEvent(ev.Event, ev.Context, ev.Timestamp, ev.Source)
		if err != nil {
			p.metrics.dropped("consent_refused")
			return p.emit(s, rec, out, p.deadLetter(rec, plain, "consent preference event refused: "+err.Error())), false
		}
		typ, id := consent.UserID, ev.UserID
		if id == "" {
			typ, id = consent.AnonymousID, ev.AnonymousID
		}
		key, err1 := consent.Key(ev.Workspace, typ, id)
		value, err2 := consent.EncodeRecord(r)
		if err := errors.Join(err1, err2); err != nil {
			return p.emit(s, rec, out, p.deadLetter(rec, plain, "consent record: "+err.Error())), false
		}
		p.consent.Apply(key, value)
		out = append(out, &kgo.Record{Topic: p.names.Of(topics.Consent), Key: key, Value: value})
	case ev.Type == schemas.Identify && ev.UserID != "":
		key, value, err := p.profiles.Identify(ev.Workspace, ev.UserID, ev.Traits, ev.Timestamp, ev.Source)
		if err != nil {
			// Only an id the key format cannot hold gets here (the store is
			// caught up before the group is joined): route it, keep no profile.
			p.metrics.profileError()
			return out, true
		}
		out = append(out, &kgo.Record{Topic: p.names.Of(topics.Profiles), Key: key, Value: value})
	}
	return out, true
}

// link records that anonymousID belongs to the event's userId.
func (p *pipeline) link(ev *schemas.Event, anonymousID string, out []*kgo.Record) []*kgo.Record {
	key, err := suppress.LinkKey(ev.Workspace, anonymousID)
	if err != nil {
		return out // an id the key format cannot hold is not linkable
	}
	value, err := suppress.EncodeLink(suppress.Link{UserID: ev.UserID, At: ev.Timestamp})
	if err != nil {
		return out
	}
	p.identities.Apply(key, value)
	p.consent.Link(ev.Workspace, anonymousID, ev.UserID)
	return append(out, &kgo.Record{Topic: p.names.Of(topics.Identities), Key: key, Value: value})
}

// eventVersion returns the raw JSON of context.protocols.event_version.
func eventVersion(protocols gjson.Result) []byte {
	v := protocols.Get("event_version")
	if !v.Exists() {
		return nil
	}
	return []byte(v.Raw)
}

// annotate records in context.protocols which plan version judged the event
// and which fields were omitted, so sinks and analysts can tell. protocols is
// the context's current protocols object. Without one (the common case) the
// new object is appended in one copy, into buf.
func annotate(buf, context []byte, protocols gjson.Result, planName string, res *validate.Result) []byte {
	if protocols.Exists() {
		out := context
		set := func(path string, value any) {
			if b, err := sjson.SetBytes(out, path, value); err == nil {
				out = b
			}
		}
		set("protocols.plan", planName)
		set("protocols.planVersion", res.PlanVersion)
		if len(res.Omitted) > 0 {
			set("protocols.omitted", res.Omitted)
		}
		return out
	}
	body := bytes.TrimSpace(context)
	if len(body) < 2 || body[0] != '{' {
		body = []byte("{}")
	}
	inner := bytes.TrimSpace(body[1 : len(body)-1])
	buf = append(buf, '{')
	if len(inner) > 0 {
		buf = append(append(buf, inner...), ',')
	}
	buf = append(buf, `"protocols":{"plan":`...)
	buf = schemas.AppendJSONString(buf, planName)
	buf = append(buf, `,"planVersion":`...)
	buf = strconv.AppendInt(buf, int64(res.PlanVersion), 10)
	if len(res.Omitted) > 0 {
		buf = append(buf, `,"omitted":[`...)
		for i, o := range res.Omitted {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = schemas.AppendJSONString(buf, o)
		}
		buf = append(buf, ']')
	}
	return append(buf, "}}"...)
}

// deadLetter wraps a record that could not be processed (its plaintext
// value plain) with the reason.
func (p *pipeline) deadLetter(rec *kgo.Record, plain []byte, reason string) *kgo.Record {
	v, _ := json.Marshal(topics.DeadLetterValue{Reason: reason, Value: string(plain),
		Position: &topics.Position{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}})
	return &kgo.Record{Topic: p.names.Of(topics.DeadLetter), Value: v}
}

// violation is the violations-topic record of a blocked event (plaintext plain).
func (p *pipeline) violation(rec *kgo.Record, plain []byte, vs []validate.Violation) *kgo.Record {
	v, _ := json.Marshal(struct {
		Event      json.RawMessage      `json:"event"`
		Violations []validate.Violation `json:"violations"`
	}{plain, vs})
	return &kgo.Record{Topic: p.names.Of(topics.Violations), Key: rec.Key, Value: v}
}

// emit appends a stream-topic record of the event s holds, its value sealed
// under the event's key; a record whose key was shredded meanwhile is dropped.
func (p *pipeline) emit(s *scratch, rec *kgo.Record, out []*kgo.Record, r *kgo.Record) []*kgo.Record {
	v, ok := p.seal(s, rec, r.Value)
	if !ok {
		return out
	}
	r.Value = v
	return append(out, r)
}
