package api

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/topics"
)

// compatDir holds the real clients the compatibility tests drive.
func compatDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testenv", "compat"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH: this test drives the real @segment/analytics-node SDK and needs Node.js 20 or later")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@segment", "analytics-node", "package.json")); err != nil {
		t.Fatalf("@segment/analytics-node is not installed in %s: run `npm ci` there (the Makefile does): %v", dir, err)
	}
	return dir
}

// sdkEvent is an event as the SDK sent it, its objects kept as raw bytes.
type sdkEvent struct {
	Type         string          `json:"type"`
	MessageID    string          `json:"messageId"`
	UserID       string          `json:"userId"`
	AnonymousID  string          `json:"anonymousId"`
	Event        string          `json:"event"`
	Name         string          `json:"name"`
	Category     string          `json:"category"`
	GroupID      string          `json:"groupId"`
	PreviousID   string          `json:"previousId"`
	Timestamp    time.Time       `json:"timestamp"`
	Context      json.RawMessage `json:"context"`
	Integrations json.RawMessage `json:"integrations"`
	Properties   json.RawMessage `json:"properties"`
	Traits       json.RawMessage `json:"traits"`
}

// TestSegmentNodeSDK sends every call type through the real
// @segment/analytics-node SDK, pointed at the API by its host option only,
// and reads each event back from events.raw, field by field.
func TestSegmentNodeSDK(t *testing.T) {
	dir := compatDir(t)
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "segment_node.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLUICE_HOST="+e.http.URL, "SLUICE_WRITE_KEY="+webKey)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("segment_node.mjs: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	var out struct {
		Requests []struct {
			Batch    []json.RawMessage `json:"batch"`
			SentAt   time.Time         `json:"sentAt"`
			WriteKey string            `json:"writeKey"`
		} `json:"requests"`
		Responses []int    `json:"responses"`
		Failures  []string `json:"failures"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("segment_node.mjs output %q: %v", stdout.String(), err)
	}
	if len(out.Failures) > 0 {
		t.Fatalf("the SDK reports undelivered events: %v", out.Failures)
	}
	if len(out.Requests) < 2 {
		t.Fatalf("the SDK sent %d requests, want several batches", len(out.Requests))
	}
	for _, code := range out.Responses {
		if code != 200 {
			t.Fatalf("the SDK saw status %d", code)
		}
	}
	type sent struct {
		ev     sdkEvent
		sentAt time.Time
	}
	want := map[string]sent{}
	seenTypes := map[string]bool{}
	for _, req := range out.Requests {
		for _, raw := range req.Batch {
			var ev sdkEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			want[ev.MessageID] = sent{ev, req.SentAt}
			seenTypes[ev.Type] = true
		}
	}
	for _, typ := range schemas.Types {
		if !seenTypes[string(typ)] {
			t.Fatalf("the SDK sent no %s call", typ)
		}
	}

	recs := e.records(e.names.Of(topics.Raw), len(want))
	for _, rec := range recs {
		var got schemas.Event
		if err := schemas.DecodeRaw(rec.Value, &got); err != nil {
			t.Fatalf("events.raw value %s: %v", rec.Value, err)
		}
		s, ok := want[got.MessageID]
		if !ok {
			t.Fatalf("events.raw holds an event the SDK did not send: %s", rec.Value)
		}
		delete(want, got.MessageID)
		ev := s.ev
		check := func(field, got, want string) {
			if got != want {
				t.Errorf("%s %s: %s = %q, want %q", ev.Type, ev.MessageID, field, got, want)
			}
		}
		check("type", string(got.Type), ev.Type)
		check("userId", got.UserID, ev.UserID)
		check("anonymousId", got.AnonymousID, ev.AnonymousID)
		check("event", got.Event, ev.Event)
		check("name", got.Name, ev.Name)
		check("category", got.Category, ev.Category)
		check("groupId", got.GroupID, ev.GroupID)
		check("previousId", got.PreviousID, ev.PreviousID)
		check("workspace", got.Workspace, testWorkspace)
		check("source", got.Source, "web")
		user := ev.UserID
		if user == "" {
			user = ev.AnonymousID
		}
		check("key", string(rec.Key), testWorkspace+"/"+user)
		// Objects byte for byte as the SDK serialised them.
		check("context", string(got.Context), string(ev.Context))
		check("integrations", string(got.Integrations), string(ev.Integrations))
		check("properties", string(got.Properties), string(ev.Properties))
		check("traits", string(got.Traits), string(ev.Traits))
		// Times: the sent timestamp kept, sentAt from the batch, the
		// timestamp corrected for clock skew against receivedAt.
		if !got.OriginalTimestamp.Equal(ev.Timestamp) {
			t.Errorf("%s: originalTimestamp %v, want %v", ev.Type, got.OriginalTimestamp, ev.Timestamp)
		}
		if !got.SentAt.Equal(s.sentAt) {
			t.Errorf("%s: sentAt %v, want %v", ev.Type, got.SentAt, s.sentAt)
		}
		if want := got.ReceivedAt.Add(-s.sentAt.Sub(ev.Timestamp)); !got.Timestamp.Equal(want) {
			t.Errorf("%s: timestamp %v, want receivedAt − (sentAt − timestamp) = %v", ev.Type, got.Timestamp, want)
		}
		if got.ReceivedAt.IsZero() || got.ReceivedAt.Before(s.sentAt.Add(-time.Minute)) {
			t.Errorf("%s: receivedAt %v for sentAt %v", ev.Type, got.ReceivedAt, s.sentAt)
		}
	}
	if len(want) != 0 {
		t.Errorf("events the SDK sent but events.raw lacks: %v", want)
	}
}
