package dev_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/dev"
)

// post sends a JSON body and decodes the answer into out.
func post(t *testing.T, u string, auth func(*http.Request), body any, out any) int {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// query runs SQL on the dev stack's ClickHouse and returns the text answer.
func query(t *testing.T, info dev.Info, sql string) string {
	t.Helper()
	return strings.TrimSpace(get(t, info.ClickHouse+"/?query="+url.QueryEscape(sql)))
}

func count(t *testing.T, info dev.Info, where string) int {
	t.Helper()
	n, err := strconv.Atoi(query(t, info, "SELECT count() FROM sluice.tracks WHERE "+where))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitUntil polls cond every 50ms for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The whole pipeline on the dev stack: events through the API reach the
// warehouse; SUPPRESS_WITH_DELETE for some users finishes with zero rows of
// them, nothing of theirs sent after the acknowledgement is delivered, other
// users are untouched, and UNSUPPRESS lets new events through again.
func TestEndToEndSuppressWithDelete(t *testing.T) {
	info, stop := startDev(t, t.TempDir())
	defer stop()
	writeKey := func(r *http.Request) { r.SetBasicAuth(info.WriteKeys["default"], "") }
	admin := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+info.AdminToken) }
	const users = 20
	send := func(round int) {
		var batch []map[string]any
		for u := range users {
			batch = append(batch, map[string]any{
				"type": "track", "userId": fmt.Sprintf("u%d", u), "event": "Ping",
				"messageId": fmt.Sprintf("u%d-r%d", u, round), "properties": map[string]any{"round": round},
			})
		}
		if code := post(t, info.API+"/v1/batch", writeKey, map[string]any{"batch": batch}, nil); code != http.StatusOK {
			t.Fatalf("batch round %d: %d", round, code)
		}
	}

	send(1)
	waitUntil(t, "round 1 in the warehouse", func() bool { return count(t, info, "1") == users })
	// Two identify calls merge into u0's profile.
	for _, traits := range []string{`{"email":"u0@example.com","plan":"free"}`, `{"plan":"pro"}`} {
		post(t, info.API+"/v1/identify", writeKey, map[string]any{"userId": "u0", "traits": json.RawMessage(traits)}, nil)
	}
	waitUntil(t, "u0's merged profile", func() bool {
		return profileTraits(t, info, "u0") == `{"email":"u0@example.com","plan":"pro"}`
	})

	gone := []string{"u0", "u1", "u2", "u3", "u4"}
	var created struct {
		Data struct{ ID string } `json:"data"`
		ID   string              `json:"id"`
	}
	code := post(t, info.API+"/v1/regulations", admin, map[string]any{
		"regulationType": "SUPPRESS_WITH_DELETE", "subjectType": "USER_ID", "subjectIds": gone,
	}, &created)
	if code/100 != 2 {
		t.Fatalf("regulation: %d", code)
	}
	id := created.ID
	if id == "" {
		id = created.Data.ID
	}
	// Acknowledged: everything sent from now on must not reach the warehouse.
	send(2)

	waitUntil(t, "the regulation to finish", func() bool {
		req, _ := http.NewRequest(http.MethodGet, info.API+"/v1/regulations/"+id, nil)
		admin(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st map[string]any
		json.NewDecoder(resp.Body).Decode(&st)
		s := fmt.Sprint(st)
		if strings.Contains(s, "FAILED") || strings.Contains(s, "PARTIAL_SUCCESS") {
			t.Fatalf("regulation ended badly: %v", st)
		}
		return strings.Contains(s, "overallStatus:FINISHED")
	})
	waitUntil(t, "round 2 of the others", func() bool {
		return count(t, info, "JSONExtractInt(toJSONString(properties), 'round') = 2") >= users-len(gone)
	})
	time.Sleep(500 * time.Millisecond) // a late delivery would show now

	in := "user_id IN ('" + strings.Join(gone, "','") + "')"
	if n := count(t, info, in); n != 0 {
		t.Fatalf("%d rows of deleted users remain (or arrived after the acknowledgement)", n)
	}
	if n := count(t, info, "NOT "+in); n != 2*(users-len(gone)) {
		t.Fatalf("other users have %d rows, want %d", n, 2*(users-len(gone)))
	}

	code = post(t, info.API+"/v1/regulations", admin, map[string]any{
		"regulationType": "UNSUPPRESS", "subjectType": "USER_ID", "subjectIds": []string{"u0"},
	}, nil)
	if code/100 != 2 {
		t.Fatalf("unsuppress: %d", code)
	}
	post(t, info.API+"/v1/track", writeKey, map[string]any{"userId": "u0", "event": "Back", "messageId": "u0-back"}, nil)
	waitUntil(t, "u0's event after UNSUPPRESS", func() bool { return count(t, info, "user_id = 'u0'") == 1 })
	// The deleted profile stays deleted: a new identify starts a new one.
	post(t, info.API+"/v1/identify", writeKey, map[string]any{"userId": "u0", "traits": map[string]any{"plan": "back"}}, nil)
	waitUntil(t, "u0's new profile", func() bool { return profileTraits(t, info, "u0") != "" })
	if got := profileTraits(t, info, "u0"); got != `{"plan":"back"}` {
		t.Fatalf("u0's profile after deletion and a new identify: %s, want only the new traits", got)
	}
}

// profileTraits returns the traits of a user's profile, as the export API
// reads it from the profiles topic; "" when there is none.
func profileTraits(t *testing.T, info dev.Info, user string) string {
	t.Helper()
	body := get(t, info.API+"/v1/users/"+user+"/export", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+info.AdminToken) })
	for line := range strings.Lines(body) {
		var l struct {
			Topic string `json:"topic"`
			Value struct {
				Traits json.RawMessage `json:"traits"`
			} `json:"value"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && strings.HasSuffix(l.Topic, "profiles") {
			return string(l.Value.Traits)
		}
	}
	return ""
}
