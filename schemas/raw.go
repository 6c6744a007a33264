package schemas

import (
	"time"
	"unicode/utf8"
)

// rawMaxDepth bounds nesting when reading events.raw values. It is far above
// any ingest limit so that a value the API accepted is always read back.
const rawMaxDepth = 1000

// AppendRaw appends e as an events.raw value: one JSON object with the fields
// in a fixed order (type, messageId, workspace, source, userId, anonymousId,
// event, name, category, groupId, previousId, timestamp, originalTimestamp,
// sentAt, receivedAt, context, integrations, properties, traits), absent
// fields left out, times in UTC RFC 3339, raw objects copied byte for byte
// (they must be valid JSON, as the decoders guarantee).
func (e *Event) AppendRaw(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, string(e.Type))
	dst = appendStringField(dst, `,"messageId":`, e.MessageID)
	dst = appendStringField(dst, `,"workspace":`, e.Workspace)
	dst = appendStringField(dst, `,"source":`, e.Source)
	dst = appendStringField(dst, `,"userId":`, e.UserID)
	dst = appendStringField(dst, `,"anonymousId":`, e.AnonymousID)
	dst = appendStringField(dst, `,"event":`, e.Event)
	dst = appendStringField(dst, `,"name":`, e.Name)
	dst = appendStringField(dst, `,"category":`, e.Category)
	dst = appendStringField(dst, `,"groupId":`, e.GroupID)
	dst = appendStringField(dst, `,"previousId":`, e.PreviousID)
	dst = appendTimeField(dst, `,"timestamp":`, e.Timestamp)
	dst = appendTimeField(dst, `,"originalTimestamp":`, e.OriginalTimestamp)
	dst = appendTimeField(dst, `,"sentAt":`, e.SentAt)
	dst = appendTimeField(dst, `,"receivedAt":`, e.ReceivedAt)
	dst = appendRawField(dst, `,"context":`, e.Context)
	dst = appendRawField(dst, `,"integrations":`, e.Integrations)
	dst = appendRawField(dst, `,"properties":`, e.Properties)
	dst = appendRawField(dst, `,"traits":`, e.Traits)
	return append(dst, '}')
}

// DecodeRaw reads an events.raw value into e, replacing all of e. The raw
// fields (Context, Integrations, Properties, Traits) alias data, so data must
// stay unchanged while e is used; all strings share one allocation. Unknown
// fields are skipped so that older readers accept newer values. It checks
// JSON validity and that type is a call type, not Segment's rules, which the
// API applied on the way in.
func DecodeRaw(data []byte, e *Event) error {
	*e = Event{}
	s := newScanner(data, rawMaxDepth)
	p := parsers.Get().(*eventParser)
	_, err := p.parse(&s, modeRaw, e)
	parsers.Put(p)
	if err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	if e.Type == "" {
		return &Error{Rule: RuleInvalidType, Index: -1, Field: "type", Offset: -1, Reason: "an events.raw value needs a type"}
	}
	return nil
}

func appendStringField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	return appendString(append(dst, name...), v)
}

func appendTimeField(dst []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return dst
	}
	dst = append(dst, name...)
	dst = append(dst, '"')
	dst = appendTime(dst, t)
	return append(dst, '"')
}

func appendRawField(dst []byte, name string, raw []byte) []byte {
	if len(raw) == 0 {
		return dst
	}
	return append(append(dst, name...), raw...)
}

// strPlain marks the bytes a string may hold without a closer look: printable
// ASCII other than '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string. Bytes that are not UTF-8 become
// U+FFFD, so the output is always valid JSON.
func appendString(dst []byte, s string) []byte {
	const hexdig = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if strPlain[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSONString appends s as a JSON string, replacing bytes that are not
// UTF-8 with U+FFFD; for writers of other sluice records.
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }
