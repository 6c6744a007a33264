package consent

import (
	"fmt"
	"testing"
)

// realisticContext is the context of a browser event: library, page, user
// agent, campaign, then consent.
var realisticContext = []byte(`{"library":{"name":"analytics.js","version":"next-1.70.0"},` +
	`"page":{"path":"/products/42","referrer":"https://www.example.com/","search":"?utm_source=news",` +
	`"title":"Blue Widget – Example Shop","url":"https://shop.example.com/products/42?utm_source=news"},` +
	`"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",` +
	`"locale":"en-GB","timezone":"Europe/London","ip":"203.0.113.9",` +
	`"campaign":{"name":"spring","source":"news","medium":"email"},` +
	`"consent":{"categoryPreferences":{"analytics":true,"ads":false,"email":true}}}`)

func BenchmarkEventPrefs(b *testing.B) {
	c := testCategories(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(realisticContext)))
	for b.Loop() {
		if p, err := c.EventPrefs(realisticContext); err != nil || p.Granted != 5 {
			b.Fatal(p, err)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	event, stored := Prefs{Known: true, Granted: 5}, Prefs{}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if ok, _ := Decide(Mask(i&7), event, stored, Deny); ok {
			n++
		}
	}
	_ = n
}

// BenchmarkStoreLookup looks up a user and an anonymousId among a million
// stored subjects.
func BenchmarkStoreLookup(b *testing.B) {
	s := NewStore(testCategories(b))
	v := record(b, 1, map[string]bool{"analytics": true})
	for i := 0; i < 1_000_000; i++ {
		s.Apply(key(b, UserID, fmt.Sprint("user-", i)), v)
	}
	s.MarkCaughtUp()
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprint("user-", i*241)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Lookup("acme", ids[i%len(ids)], "anon-x")
	}
}

func BenchmarkStoreApply(b *testing.B) {
	s := NewStore(testCategories(b))
	v := record(b, 1, map[string]bool{"analytics": true, "ads": false})
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = key(b, UserID, fmt.Sprint("user-", i))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Apply(keys[i%len(keys)], v)
	}
}
