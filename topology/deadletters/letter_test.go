package deadletters

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/topics"
)

// The three roles' dead letters decode to their origin, reason and the
// event's ids, keeping the payload aside.
func TestDecodeLetter(t *testing.T) {
	event := `{"type":"track","messageId":"m1","workspace":"acme","source":"web","userId":"u1","event":"Signed Up","timestamp":"2026-12-05T00:00:00Z","receivedAt":"2026-12-05T00:00:00Z","properties":{"email":"u1@example.com"}}`
	cases := []struct {
		name, plain string
		want        Letter
	}{
		{"sink", `{"destination":"crm","reason":"refused","error":"HTTP 400","attempts":1,"topic":"sluice.dest.crm","partition":2,"offset":7,"event":` + quote(event) + `}`,
			Letter{Origin: OriginSink, Destination: "crm", Reason: "refused", Error: "HTTP 400", Attempts: 1,
				From: &Position{Topic: "sluice.dest.crm", Partition: 2, Offset: 7}, MessageID: "m1", Type: "track", Event: "Signed Up"}},
		{"router", `{"reason":"undecodable","topic":"sluice.events.raw","partition":0,"offset":3,"value":"{not json"}`,
			Letter{Origin: OriginRouter, Reason: "undecodable", From: &Position{Topic: "sluice.events.raw", Offset: 3}}},
		{"api", `{"reason":"the body is not JSON","code":"invalid_json","status":400,"messageId":"m2","field":"event","workspace":"acme","source":"web","route":"/v1/track","receivedAt":"2026-12-05T00:00:00Z","bodyBytes":30,"body":"{\"userId\":\"u9\"","truncated":false}`,
			Letter{Origin: OriginAPI, Reason: "invalid_json", Error: "the body is not JSON", Status: 400, MessageID: "m2", Field: "event",
				Source: "web", Route: "/v1/track", BodyBytes: 30}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := decodeLetter([]byte(c.plain))
			if err != nil {
				t.Fatal(err)
			}
			got := *l
			if got.payload == "" {
				t.Error("the payload was not kept")
			}
			got.payload, got.event = "", c.want.event
			if got.From != nil && c.want.From != nil && *got.From == *c.want.From {
				got.From = c.want.From
			}
			if got.Origin != c.want.Origin || got.Destination != c.want.Destination || got.Reason != c.want.Reason ||
				got.Error != c.want.Error || got.Attempts != c.want.Attempts || got.From != c.want.From ||
				got.MessageID != c.want.MessageID || got.Type != c.want.Type || got.Event != c.want.Event ||
				got.Status != c.want.Status || got.Field != c.want.Field || got.Source != c.want.Source ||
				got.Route != c.want.Route || got.BodyBytes != c.want.BodyBytes || got.Payload != "" {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
			if replayable := c.name == "sink"; l.replayable() != replayable {
				t.Errorf("replayable: %v, want %v", l.replayable(), replayable)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"reason":"x"}`, `{"destination":`, `"x"`} {
		if _, err := decodeLetter([]byte(bad)); err == nil {
			t.Errorf("decodeLetter(%q) took it", bad)
		}
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// Bad parameters are refused naming the field.
func TestParseRequests(t *testing.T) {
	cases := []struct{ query, field string }{
		{"origin=mail", "origin"},
		{"since=yesterday", "since"},
		{"since=2026-12-05T10:00:00Z&until=2026-12-05T09:00:00Z", "until"},
		{"show=maybe", "show"},
		{"limit=0", "limit"},
		{"limit=1000001", "limit"},
		{"reason=" + strings.Repeat("x", 2000), "reason"},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		_, _, err := parseList(q)
		var fe *fieldError
		if !errors.As(err, &fe) || fe.field != c.field {
			t.Errorf("%s: %v, want an error naming %s", c.query, err, c.field)
		}
	}
	q, _ := url.ParseQuery("destination=crm&since=2026-12-05T10:00:00Z&payloads=true&limit=5")
	f, o, err := parseList(q)
	if err != nil || f.Destination != "crm" || !f.Since.Equal(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)) || !o.Show || !o.Payloads || o.Limit != 5 {
		t.Errorf("parseList: %+v %+v %v", f, o, err)
	}
	if back, _, err := parseList(f.Query()); err != nil || back != f {
		t.Errorf("Query does not read back: %+v %v", back, err)
	}

	for _, body := range []string{``, `{"destination":"crm","dry_run":true}`, `{"destination":"crm"} {}`, `{"since":"today"}`, `[]`,
		`{"destination":"crm","origin":"mail"}`} {
		if _, err := parseReplay([]byte(body)); err == nil {
			t.Errorf("parseReplay(%s) took it", body)
		}
	}
	req, err := parseReplay([]byte(`{"destination":"crm","reason":"r","since":"2026-12-05T10:00:00Z","dryRun":true,"again":true}`))
	if err != nil || req.Destination != "crm" || req.Reason != "r" || req.Since.IsZero() || !req.DryRun || !req.Again {
		t.Errorf("parseReplay: %+v %v", req, err)
	}
}

// Errors map to their statuses: a bad field 400 naming it, a fenced
// replay 409, anything else (the broker) 503.
func TestWriteErr(t *testing.T) {
	cases := []struct {
		err    error
		status int
		body   string
	}{
		{&fieldError{"destination", "destination \"x\" is not in the workspace's config"}, 400, `"field":"destination"`},
		{fmt.Errorf("%w (%w)", ErrConcurrentReplay, errors.New("fenced")), 409, `"code":"concurrent_replay"`},
		{errors.New("deadletters: reading sluice.deadletter: context deadline exceeded"), 503, `"code":"unavailable"`},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		writeErr(w, c.err)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("%v: %d %s, want %d with %s", c.err, w.Code, w.Body, c.status, c.body)
		}
	}
}

// What the roles write (topics.DeadLetterValue, filled as each fills it)
// decodes to its origin: writers and reader share one type, and this keeps
// the reader's tell-apart rules in step with it.
func TestWrittenLettersDecodeToTheirOrigin(t *testing.T) {
	at, index := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), 0
	for want, v := range map[Origin]topics.DeadLetterValue{
		OriginSink: {Destination: "crm", Reason: "HTTP 410", Error: "gone", Attempts: 3,
			Position: &topics.Position{Topic: "sluice.dest.crm"}, Event: `{"type":"track"}`},
		OriginRouter: {Reason: "undecodable", Position: &topics.Position{Topic: "sluice.events.raw"}, Value: "{"},
		OriginAPI: {Reason: "not JSON", Code: "invalid_json", Status: 400, Index: &index, Workspace: "acme",
			Source: "web", Route: "/v1/batch", ReceivedAt: &at, BodyBytes: 1, Body: "{"},
	} {
		plain, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		l, err := decodeLetter(plain)
		if err != nil || l.Origin != want {
			t.Errorf("%s: decoded %s as %+v, %v", want, plain, l, err)
		}
	}
}
