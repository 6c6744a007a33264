package deadletters

import (
	"net/url"
	"testing"
)

// Any dead-letter plaintext decodes to a letter of a known origin, or to an
// error; never a panic.
func FuzzDecodeLetter(f *testing.F) {
	f.Add([]byte(`{"destination":"crm","reason":"r","error":"e","attempts":1,"topic":"t","partition":0,"offset":1,"event":"{\"type\":\"track\",\"userId\":\"u\"}"}`))
	f.Add([]byte(`{"reason":"m","code":"invalid_json","status":400,"body":"{"}`))
	f.Add([]byte(`{"reason":"r","topic":"t","value":"x"}`))
	f.Add([]byte(`{"destination":"x","event":"{\"type\":\"track\",\"userId\":\"u\",\"properties\":{\"a\":[[[[1]]]]}}"}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		l, err := decodeLetter(plain)
		if err != nil {
			return
		}
		if !l.Origin.valid() {
			t.Fatalf("origin %q from %q", l.Origin, plain)
		}
		if l.replayable() && l.Origin != OriginSink {
			t.Fatalf("a %s letter is replayable", l.Origin)
		}
	})
}

// Any query string is a filter or a bad parameter; never a panic.
func FuzzParseList(f *testing.F) {
	f.Add("destination=crm&reason=x&since=2026-12-05T10:00:00Z&show=true&limit=10")
	f.Add("origin=api&until=2026-12-05T10:00:00.5%2B01:00&payloads=1")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if fl, o, err := parseList(q); err == nil && (fl.check() != nil || o.Limit < 0 || o.Limit > MaxLimit) {
			t.Fatalf("parseList(%q) took %+v %+v", raw, fl, o)
		}
	})
}

// Any body is a replay request or a bad request; never a panic.
func FuzzParseReplay(f *testing.F) {
	f.Add([]byte(`{"destination":"crm","reason":"r","since":"2026-12-05T10:00:00Z","dryRun":true}`))
	f.Add([]byte(`{"destination":"crm","origin":"sink","until":"2026-12-05T10:00:00Z","again":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if req, err := parseReplay(body); err == nil && req.Filter.check() != nil {
			t.Fatalf("parseReplay(%q) took %+v", body, req)
		}
	})
}
