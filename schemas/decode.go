package schemas

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

// Decoder decodes tracking API request bodies, outside input, with Segment's
// rules and the limits in Limits. The zero value applies the default limits.
// A Decoder is safe for concurrent use.
type Decoder struct {
	Limits Limits
}

// Call is what the HTTP request, rather than its body, says about its events.
type Call struct {
	// Type is the call type of the route (/v1/track is Track); empty for
	// /v1/batch and /v1/import.
	Type Type
	// ReceivedAt is when the request arrived: it becomes Event.ReceivedAt
	// and corrects the sender's clock skew.
	ReceivedAt time.Time
}

// Payload is a decoded request body.
type Payload struct {
	// Events are the body's events, each checked against every rule.
	// Their raw JSON fields alias the body: keep it unchanged while they live.
	Events []Event
	// WriteKey is the body's top-level writeKey, empty when absent.
	WriteKey string
	// Refused are the items of a batch refused on their own, in order; the
	// batch's other items are in Events. Their Item bytes alias the body.
	Refused []Refusal
}

// Refusal is one batch item that broke a rule: the rest of its batch is
// accepted without it.
type Refusal struct {
	// Index is the item's place in the batch array.
	Index int
	// MessageID is the item's messageId as sent when it is a string (at
	// most MaxMessageIDChars characters of it), else empty.
	MessageID string
	// Err is the rule broken; Err.Index is Index.
	Err *Error
	// Item is the item as sent.
	Item []byte
}

// Decode decodes body into p, reusing p's storage. A single call is
// accepted whole or not at all. A batch whose envelope is well-formed and
// within the limits (JSON syntax of the whole body, MaxBatchBytes,
// 1..MaxBatchEvents items, the batch-level fields) is accepted, and each
// item is judged alone: good items in p.Events, refused ones in p.Refused.
// The error (an *Error) names the first rule the request broke, the field,
// and for a batch the item index.
//
// Rules: the body is one JSON object of UTF-8, numbers finite as float64
// (integers beyond int64 kept as written), nesting within Limits.MaxDepth
// per event; a batch holds 1 to MaxBatchEvents items, each an object with a
// type, and is at most MaxBatchBytes; an event is at most MaxEventBytes;
// every event has userId or anonymousId; track needs event, group needs
// groupId, alias needs userId and previousId; messageId is at most
// MaxMessageIDChars and generated when absent. context, integrations,
// properties and traits must be objects.
//
// Normalisation, each recorded on the event in context.sluice.notes (see
// Notes) when it changes what was sent: lone UTF-16 surrogate escapes
// become \ufffd, in body itself; timestamps Segment accepts beyond RFC 3339
// are read (parseTimeLenient) and an unreadable timestamp is dropped, so
// receivedAt stands in. The route's type is the event's (a body "type" must
// agree); ReceivedAt is set; Timestamp = ReceivedAt − (SentAt − timestamp
// sent), with the sent timestamp kept as OriginalTimestamp; a batch's sentAt
// applies to items without one; a batch's context and integrations are
// merged into each item's, member by member, the item's members winning.
// Other top-level fields (writeKey, channel, _metadata, ...) are dropped.
func (d *Decoder) Decode(body []byte, call Call, p *Payload) error {
	p.Events = p.Events[:0]
	p.Refused = p.Refused[:0]
	p.WriteKey = ""
	lim := d.Limits.WithDefaults()
	var err *Error
	if call.Type == "" {
		err = decodeBatch(body, call, lim, p)
	} else {
		err = decodeCall(body, call, lim, p)
	}
	if err != nil {
		p.Events = p.Events[:0]
		p.Refused = p.Refused[:0]
		return err
	}
	return nil
}

func decodeCall(body []byte, call Call, lim Limits, p *Payload) *Error {
	if len(body) > lim.MaxEventBytes {
		return &Error{Rule: RuleEventTooLarge, Index: -1, Offset: -1,
			Reason: tooLarge("the event", len(body), lim.MaxEventBytes)}
	}
	s := newIngestScanner(body, lim.MaxDepth)
	ep := parsers.Get().(*eventParser)
	defer parsers.Put(ep)
	p.Events = append(p.Events, Event{})
	e := &p.Events[0]
	wk, err := ep.parse(&s, modeCall, e)
	if err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	if e.Type != "" && e.Type != call.Type {
		return &Error{Rule: RuleInvalidType, Index: -1, Field: "type", Offset: -1,
			Reason: "\"" + string(e.Type) + "\" does not match the route's type \"" + string(call.Type) + "\""}
	}
	e.Type = call.Type
	if err := check(e, lim); err != nil {
		return err
	}
	finish(e, call.ReceivedAt, time.Time{}, nil)
	p.WriteKey = wk
	return nil
}

// batchEnvelope is what a batch says for all its items.
type batchEnvelope struct {
	context, integrations []byte
	sentAt                time.Time
	notes                 []string
}

func decodeBatch(body []byte, call Call, lim Limits, p *Payload) *Error {
	if len(body) > lim.MaxBatchBytes {
		return &Error{Rule: RuleBatchTooLarge, Index: -1, Offset: -1,
			Reason: tooLarge("the batch", len(body), lim.MaxBatchBytes)}
	}
	s := newIngestScanner(body, lim.MaxDepth)
	if s.peek() != '{' {
		return s.syntax("the body must be a JSON object")
	}
	if err := s.enter(); err != nil {
		return err
	}
	ep := parsers.Get().(*eventParser)
	defer parsers.Put(ep)
	var (
		seenBatch bool
		env       batchEnvelope
		tmp       []byte
	)
	for n := 0; ; n++ {
		key, more, err := s.member(n)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		name := string(key) // only compared: does not allocate
		fixed := s.Fixed
		switch name {
		case "batch":
			if seenBatch {
				return &Error{Rule: RuleDuplicateField, Index: -1, Field: "batch", Offset: s.Pos, Reason: "field appears more than once"}
			}
			seenBatch = true
			if err := decodeItems(&s, lim, ep, p); err != nil {
				return err
			}
			fixed = s.Fixed // the items' own notes say it
		case "context", "integrations":
			raw, err := readObject(&s)
			if err != nil {
				err.Field = name
				return err
			}
			if name == "context" {
				env.context = raw
			} else {
				env.integrations = raw
			}
		case "sentAt":
			t, note, err := readTime(&s, &tmp, true)
			if err != nil {
				err.Field = "sentAt"
				return err
			}
			if note != "" {
				env.notes = append(env.notes, "sentAt (batch): "+note+timeConsequence(fSentAt, t))
			}
			env.sentAt = t
		case "writeKey":
			if s.peek() != '"' {
				return &Error{Rule: RuleFieldType, Index: -1, Field: "writeKey", Offset: s.Pos, Reason: "must be a string"}
			}
			raw, escaped, err := s.str()
			if err != nil {
				err.Field = "writeKey"
				return err
			}
			if escaped {
				raw = jsonscan.AppendUnescaped(nil, raw)
			}
			p.WriteKey = string(raw)
		default:
			if err := s.value(); err != nil {
				err.Field = string(key)
				return err
			}
			fixed = s.Fixed // not kept: nothing to note
		}
		if n := s.Fixed - fixed; n > 0 {
			env.notes = append(env.notes, surrogateNote(name+" (batch)", n))
		}
	}
	if err := s.end(); err != nil {
		return err
	}
	if len(p.Events) == 0 && len(p.Refused) == 0 {
		return &Error{Rule: RuleEmptyBatch, Index: -1, Field: "batch", Offset: -1,
			Reason: "a batch needs a \"batch\" array of at least one event"}
	}
	for i := range p.Events {
		e := &p.Events[i]
		if env.context != nil {
			e.Context = mergeObjects(e.Context, env.context)
		}
		if env.integrations != nil {
			e.Integrations = mergeObjects(e.Integrations, env.integrations)
		}
		finish(e, call.ReceivedAt, env.sentAt, env.notes)
	}
	return nil
}

// decodeItems reads the batch array at s.Pos. The array's JSON syntax and
// its item count are the request's to keep; each item's rules are its own:
// an item that breaks one is added to p.Refused and the next one is read.
func decodeItems(s *scanner, lim Limits, ep *eventParser, p *Payload) *Error {
	if s.peek() != '[' {
		return &Error{Rule: RuleFieldType, Index: -1, Field: "batch", Offset: s.Pos, Reason: "must be an array of events"}
	}
	if err := s.enter(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		more, err := s.element(i)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		if i >= lim.MaxBatchEvents {
			return &Error{Rule: RuleTooManyEvents, Index: i, Offset: s.Pos,
				Reason: "a batch holds at most " + itoa(lim.MaxBatchEvents) + " events"}
		}
		s.SkipSpace()
		start := s.Pos
		// The item's end first, by grammar alone and without recursion, so
		// that a fault of the item's own rules cannot lose the array.
		lax := jsonscan.Scanner{Buf: s.Buf, Pos: start}
		if f := lax.Skip(); f != jsonscan.NoFault {
			s.Pos = lax.Pos
			err := s.fault(f)
			err.Index = i
			return err
		}
		end := lax.Pos
		if rerr := decodeItem(s, start, end, lim, ep, p); rerr != nil {
			rerr.Index = i
			p.Refused = append(p.Refused, Refusal{Index: i, MessageID: itemMessageID(s.Buf[start:end], lim),
				Err: rerr, Item: s.Buf[start:end:end]})
		}
		s.Pos = end
	}
}

// decodeItem decodes the batch item s.Buf[start:end] into a new event of
// p.Events, or returns the rule it breaks and leaves p.Events as it was.
func decodeItem(s *scanner, start, end int, lim Limits, ep *eventParser, p *Payload) *Error {
	if size := end - start; size > lim.MaxEventBytes {
		return &Error{Rule: RuleEventTooLarge, Index: -1, Offset: start,
			Reason: tooLarge("the event", size, lim.MaxEventBytes)}
	}
	if s.Buf[start] != '{' {
		return &Error{Rule: RuleInvalidJSON, Index: -1, Offset: start, Reason: "a batch item must be a JSON object"}
	}
	// The item's own scanner: its nesting counts from the item, and its
	// surrogate fixes land in the shared body.
	is := newIngestScanner(s.Buf[:end], lim.MaxDepth)
	is.Pos = start
	p.Events = append(p.Events, Event{})
	e := &p.Events[len(p.Events)-1]
	_, err := ep.parse(&is, modeItem, e)
	s.Fixed += is.Fixed
	if err == nil && e.Type == "" {
		err = &Error{Rule: RuleInvalidType, Index: -1, Field: "type", Offset: start,
			Reason: "a batch item needs a type: track, identify, page, screen, group or alias"}
	}
	if err == nil {
		err = check(e, lim)
	}
	if err != nil {
		p.Events[len(p.Events)-1] = Event{}
		p.Events = p.Events[:len(p.Events)-1]
		return err
	}
	return nil
}

// itemMessageID returns the top-level messageId string of a batch item that
// is valid JSON, cut to lim.MaxMessageIDChars characters, or "".
func itemMessageID(item []byte, lim Limits) string {
	if len(item) == 0 || item[0] != '{' {
		return ""
	}
	var id string
	_, _ = jsonscan.EachMember(item, 0, 0, func(m jsonscan.Member) {
		if id == "" && m.Is("messageId") && item[m.Start] == '"' {
			raw := item[m.Start+1 : m.End-1]
			id = string(jsonscan.AppendUnescaped(nil, raw))
		}
	})
	if utf8.RuneCountInString(id) > lim.MaxMessageIDChars {
		id = string([]rune(id)[:lim.MaxMessageIDChars])
	}
	return strings.ToValidUTF8(id, "\uFFFD")
}

// check applies the rules of e's call type.
func check(e *Event, lim Limits) *Error {
	if e.UserID == "" && e.AnonymousID == "" {
		return &Error{Rule: RuleMissingIdentity, Index: -1, Field: "userId", Offset: -1,
			Reason: "every call needs a userId or an anonymousId"}
	}
	missing := func(f string) *Error {
		return &Error{Rule: RuleMissingField, Index: -1, Field: f, Offset: -1,
			Reason: "a " + string(e.Type) + " call needs \"" + f + "\""}
	}
	switch e.Type {
	case Track:
		if e.Event == "" {
			return missing("event")
		}
	case Group:
		if e.GroupID == "" {
			return missing("groupId")
		}
	case Alias:
		if e.UserID == "" {
			return missing("userId")
		}
		if e.PreviousID == "" {
			return missing("previousId")
		}
	}
	// A string of at most N bytes has at most N characters: count only longer ones.
	if n := len(e.MessageID); n > lim.MaxMessageIDChars && utf8.RuneCountInString(e.MessageID) > lim.MaxMessageIDChars {
		n = utf8.RuneCountInString(e.MessageID)
		return &Error{Rule: RuleMessageIDTooLong, Index: -1, Field: "messageId", Offset: -1,
			Reason: "is " + itoa(n) + " characters, the limit is " + itoa(lim.MaxMessageIDChars)}
	}
	return nil
}

// finish sets the server's fields: receivedAt, the clock-skew corrected
// timestamp, a messageId when the sender gave none, and the notes of the
// event and of its batch in context.sluice.notes.
func finish(e *Event, receivedAt, batchSentAt time.Time, batchNotes []string) {
	sent := e.Timestamp
	e.OriginalTimestamp = sent
	if e.SentAt.IsZero() {
		e.SentAt = batchSentAt
	}
	e.ReceivedAt = receivedAt
	switch {
	case sent.IsZero():
		e.Timestamp = receivedAt
	case !e.SentAt.IsZero():
		e.Timestamp = receivedAt.Add(-e.SentAt.Sub(sent))
	}
	if e.MessageID == "" {
		e.MessageID = NewMessageID()
	}
	if len(e.notes)+len(batchNotes) > 0 {
		e.Context = SetMember(e.Context, NotesMember, appendNotes(nil, e.notes, batchNotes))
		e.notes = nil
	}
}

// NewMessageID returns a random UUID (version 4), the messageId of events
// sent without one.
func NewMessageID() string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], rand.Uint64())
	binary.BigEndian.PutUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hexdig = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexdig[c>>4], hexdig[c&0xf]
		j += 2
	}
	return string(b[:])
}

// readObject reads an object or null (nil) at s.Pos.
func readObject(s *scanner) ([]byte, *Error) {
	start := s.Pos
	switch s.peek() {
	case 'n':
		return nil, s.literal("null")
	case '{':
		start = s.Pos
		if err := s.value(); err != nil {
			return nil, err
		}
		return s.Buf[start:s.Pos:s.Pos], nil
	}
	return nil, &Error{Rule: RuleFieldType, Index: -1, Offset: start, Reason: "must be an object"}
}

// readTime reads a date-time or null (zero time) at s.Pos. Strictly
// (lenient false, for events.raw) it must be an RFC 3339 string. Leniently
// it may be any form parseTimeLenient reads, or a number (epochTime); then
// note says how it was read, and for any other value the zero time comes
// with a note saying it was not a date-time.
func readTime(s *scanner, tmp *[]byte, lenient bool) (t time.Time, note string, err *Error) {
	start := s.Pos
	c := s.peek()
	switch {
	case c == 'n':
		return time.Time{}, "", s.literal("null")
	case c == '"':
		raw, escaped, err := s.str()
		if err != nil {
			return time.Time{}, "", err
		}
		if escaped {
			*tmp = jsonscan.AppendUnescaped((*tmp)[:0], raw)
			raw = *tmp
		}
		if t, ok := parseTime(raw); ok {
			return t, "", nil
		}
		if !lenient {
			return time.Time{}, "", &Error{Rule: RuleInvalidTimestamp, Index: -1, Offset: start,
				Reason: "must be an ISO-8601 date-time such as 2006-01-02T15:04:05.000Z"}
		}
		if t, how, ok := parseTimeLenient(raw); ok {
			return t, "read " + quoteNote(raw) + " as " + string(appendTime(nil, t)) + how, nil
		}
		return time.Time{}, quoteNote(raw) + " is not a date-time", nil
	case lenient && (c == '-' || (c >= '0' && c <= '9')):
		if err := s.num(); err != nil {
			return time.Time{}, "", err
		}
		text := s.Buf[start:s.Pos]
		if v, perr := strconv.ParseFloat(string(text), 64); perr == nil {
			if t, how, ok := epochTime(v); ok {
				return t, "read " + string(text) + " as " + string(appendTime(nil, t)) + how, nil
			}
		}
		return time.Time{}, string(text) + " is not a date-time", nil
	case lenient:
		if err := s.value(); err != nil {
			return time.Time{}, "", err
		}
		return time.Time{}, "a JSON " + jsonKind(c) + " is not a date-time", nil
	}
	return time.Time{}, "", &Error{Rule: RuleFieldType, Index: -1, Offset: start, Reason: "must be an ISO-8601 date-time string"}
}

// mergeObjects returns item with every member of batch whose key item lacks
// appended. Both are validated JSON objects.
func mergeObjects(item, batch []byte) []byte {
	if len(item) == 0 {
		return batch
	}
	var keys [][]byte
	s := newScanner(item, 1<<30)
	s.enter()
	for n := 0; ; n++ {
		key, more, _ := s.member(n)
		if !more {
			break
		}
		keys = append(keys, key)
		s.value()
	}
	out := make([]byte, 0, len(item)+len(batch))
	out = append(out, item[:len(item)-1]...) // without its '}'
	members := len(keys)
	b := newScanner(batch, 1<<30)
	b.enter()
	for n := 0; ; n++ {
		key, more, _ := b.member(n)
		if !more {
			break
		}
		from := b.keyAt
		b.value()
		if containsKey(keys, key) {
			continue
		}
		if members > 0 {
			out = append(out, ',')
		}
		out = append(out, batch[from:b.Pos]...)
		members++
	}
	return append(out, '}')
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if string(x) == string(k) {
			return true
		}
	}
	return false
}

func tooLarge(what string, size, limit int) string {
	return what + " is " + itoa(size) + " bytes, the limit is " + itoa(limit)
}

func itoa(n int) string { return strconv.Itoa(n) }

// FindWriteKey returns the top-level "writeKey" string of a body that may be
// invalid or cut short, or "" when there is none before the first fault. The
// tracking API uses it to tell who sent input it refuses.
func FindWriteKey(body []byte) string {
	s := newScanner(body, rawMaxDepth)
	if s.peek() != '{' || s.enter() != nil {
		return ""
	}
	for n := 0; ; n++ {
		key, more, err := s.member(n)
		if err != nil || !more {
			return ""
		}
		if string(key) == "writeKey" && s.peek() == '"' {
			raw, escaped, err := s.str()
			if err != nil {
				return ""
			}
			if escaped {
				raw = jsonscan.AppendUnescaped(nil, raw)
			}
			return string(raw)
		}
		if s.value() != nil {
			return ""
		}
	}
}
