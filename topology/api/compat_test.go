package api

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
		// The request's address, truncated, unless the event carries an ip.
		wantCtx := []byte(ev.Context)
		if _, ok := schemas.MemberString(ev.Context, "ip"); !ok {
			wantCtx = schemas.SetMember(ev.Context, "ip", []byte(`"127.0.0.0"`))
		}
		check("context", string(got.Context), string(wantCtx))
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

// TestSegmentNodeSDKPartialBatch: a batch from the real analytics-node SDK
// with one item sluice refuses (a messageId over 100 characters, which the
// SDK lets through) loses nothing else: the SDK sees a 200, the other four
// events are on events.raw, the bad one on deadletter.
func TestSegmentNodeSDKPartialBatch(t *testing.T) {
	dir := compatDir(t)
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "segment_node_partial.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLUICE_HOST="+e.http.URL, "SLUICE_WRITE_KEY="+webKey)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("segment_node_partial.mjs: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	var out struct {
		Requests []struct {
			Batch []sdkEvent `json:"batch"`
		} `json:"requests"`
		Responses []int    `json:"responses"`
		Failures  []string `json:"failures"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output %q: %v", stdout.String(), err)
	}
	if len(out.Requests) != 1 || len(out.Requests[0].Batch) != 5 || len(out.Responses) != 1 || out.Responses[0] != 200 || len(out.Failures) != 0 {
		t.Fatalf("want one batch of 5 answered 200, got %d requests, responses %v, failures %v", len(out.Requests), out.Responses, out.Failures)
	}
	recs := e.recordsBeforeSentinel(e.names.Of(topics.Raw))
	got := map[string]bool{}
	for _, r := range recs {
		got[decodeValue(t, r)["messageId"].(string)] = true
	}
	for _, id := range []string{"partial-0", "partial-1", "partial-3", "partial-4"} {
		if !got[id] {
			t.Errorf("%s lost (stored: %v)", id, got)
		}
	}
	if len(recs) != 4 {
		t.Errorf("%d events stored, want 4", len(recs))
	}
	dl := decodeValue(t, e.records(e.names.Of(topics.DeadLetter), 1)[0])
	if dl["code"] != "message_id_too_long" || dl["index"] != float64(2) || !strings.Contains(dl["body"].(string), `"messageId":"xxxx`) {
		t.Errorf("dead letter %v", dl)
	}
}
