package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/schemas/plan"
)

// routerWorkspace is the bench's pipeline: a tracking plan on the source and
// three destinations, two of them behind consent categories.
const routerWorkspace = `
workspace: bench
sources:
  - name: web
    writeKey: wk_bench
    trackingPlan: web
consent:
  categories: [analytics, advertising]
destinations:
  - name: warehouse
    type: clickhouse
    categories: [analytics]
  - name: crm
    type: webhook
    categories: [advertising]
    filters:
      - drop: 'event == "Internal Test"'
      - dropProperties: [email]
  - name: stream
    type: kafka
`

// benchPlan is the tracking plan the bench enforces.
var benchPlan = plan.Files{
	"plan.yaml": []byte(`name: web
owners: [bench@sluice.invalid]
policy:
  unplannedEvents: allow
  unplannedProperties: omit
  typeViolations: block
  blockedToViolations: true
page:
  schema: page.avsc
identify:
  schema: identify.avsc
events:
  Product Viewed:
    versions:
      1: product_viewed.avsc
`),
	"product_viewed.avsc": []byte(`{"type":"record","name":"ProductViewed","fields":[
  {"name":"product_id","type":"string"},
  {"name":"sku","type":["null","string"],"default":null},
  {"name":"name","type":"string"},
  {"name":"category","type":["null","string"],"default":null},
  {"name":"brand","type":["null","string"],"default":null},
  {"name":"variant","type":["null","string"],"default":null},
  {"name":"price","type":"double"},
  {"name":"quantity","type":"long"},
  {"name":"currency","type":{"type":"enum","name":"Currency","symbols":["USD","EUR","GBP"]}},
  {"name":"position","type":["null","int"],"default":null},
  {"name":"on_sale","type":"boolean"},
  {"name":"url","type":["null","string"],"default":null},
  {"name":"tags","type":{"type":"array","items":{"type":"record","name":"Tag","fields":[{"name":"key","type":"string"},{"name":"value","type":"string"}]}}}
]}`),
	"page.avsc": []byte(`{"type":"record","name":"Page","fields":[
  {"name":"path","type":"string"},
  {"name":"title","type":["null","string"],"default":null},
  {"name":"url","type":"string"},
  {"name":"referrer","type":["null","string"],"default":null}
]}`),
	"identify.avsc": []byte(`{"type":"record","name":"Traits","fields":[
  {"name":"email","type":["null","string"],"default":null},
  {"name":"name","type":["null","string"],"default":null},
  {"name":"plan","type":["null","string"],"default":null},
  {"name":"logins","type":["null","long"],"default":null}
]}`),
}

// consentContexts are the consent an event carries: all, analytics only, none.
var consentContexts = [][]byte{
	[]byte(`{"consent":{"categoryPreferences":{"analytics":true,"advertising":true}},"library":{"name":"analytics.js","version":"5.2.0"},"page":{"path":"/p/42"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","ip":"203.0.113.9"}`),
	[]byte(`{"consent":{"categoryPreferences":{"analytics":true,"advertising":false}},"library":{"name":"analytics.js","version":"5.2.0"},"page":{"path":"/p/42"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","ip":"203.0.113.9"}`),
	[]byte(`{"library":{"name":"analytics.js","version":"5.2.0"},"page":{"path":"/p/42"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","ip":"203.0.113.9"}`),
}

// benchUsers is how many users the events spread over; the first tenth is suppressed.
const benchUsers = 20_000

func benchUser(i int) string { return fmt.Sprintf("user-%05d", i) }

// routerEvents makes n realistic mixed events: 80% track (12 properties and
// an array of records), 10% identify, 10% page.
func routerEvents(n int) []schemas.Event {
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	evs := make([]schemas.Event, n)
	for i := range evs {
		e := schemas.Event{
			MessageID: fmt.Sprintf("msg-%09d", i), UserID: benchUser(rng.IntN(benchUsers)),
			AnonymousID: fmt.Sprintf("anon-%08x", rng.Uint32()), Timestamp: now, SentAt: now, ReceivedAt: now,
			Workspace: "bench", Source: "web",
		}
		e.Context = consentContexts[[]int{0, 0, 0, 0, 0, 1, 1, 1, 2, 2}[rng.IntN(10)]]
		switch k := rng.IntN(10); {
		case k < 8:
			e.Type, e.Event = schemas.Track, "Product Viewed"
			e.Properties = fmt.Appendf(nil, `{"product_id":"p-%d","sku":"SKU-%d","name":"Trail Shoe %d","category":"shoes","brand":"acme","variant":"blue","price":%d.99,"quantity":%d,"currency":"EUR","position":%d,"on_sale":%t,"url":"https://shop.example/p/%d","tags":[{"key":"color","value":"blue"},{"key":"size","value":"42"}]}`,
				i%5000, i%977, i%300, 10+i%90, 1+i%3, i%40, i%2 == 0, i%5000)
		case k < 9:
			e.Type = schemas.Identify
			e.Traits = fmt.Appendf(nil, `{"email":"%s@example.com","name":"User %d","plan":"pro","logins":%d}`, e.UserID, i, i%50)
		default:
			e.Type, e.Name = schemas.Page, "Product"
			e.Properties = []byte(`{"path":"/p/42","title":"Trail Shoe","url":"https://shop.example/p/42","referrer":"https://search.example/"}`)
		}
		evs[i] = e
	}
	return evs
}
