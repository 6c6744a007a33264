// segment_node.mjs sends every Segment call type through the real
// @segment/analytics-node SDK to a sluice tracking API and prints, as one JSON
// line on stdout, every HTTP request body the SDK sent and every delivery
// failure. The Go test topology/api TestSegmentNodeSDK runs it and checks the
// events against what sluice wrote to events.raw, field by field.
//
//   SLUICE_HOST=http://127.0.0.1:8088 SLUICE_WRITE_KEY=wk node segment_node.mjs
//
// It exits 1 if the SDK reports any event as not delivered.
import { Analytics } from '@segment/analytics-node'

const host = process.env.SLUICE_HOST
const writeKey = process.env.SLUICE_WRITE_KEY
if (!host || !writeKey) {
  console.error('segment_node.mjs: set SLUICE_HOST and SLUICE_WRITE_KEY')
  process.exit(2)
}

const analytics = new Analytics({
  writeKey,
  host,
  flushAt: 3, // several batches, each of a few calls
  flushInterval: 50,
  maxRetries: 2,
})

const requests = []
const responses = []
const failures = []
analytics.on('http_request', (req) => requests.push(JSON.parse(req.body)))
analytics.on('http_response', (res) => responses.push(res.status))

const delivered = (what) => (err) => {
  if (err) failures.push(`${what}: ${err.message ?? err}`)
}

// Fixed timestamps in the past, so the clock-skew correction is visible.
const past = new Date(Date.now() - 90_000)

analytics.identify(
  {
    userId: 'user-1',
    anonymousId: 'anon-1',
    traits: { email: 'ada@example.com', name: 'Ada Lövelace', plan: 'pro', logins: 42, ratio: 0.125 },
    context: { ip: '203.0.113.7', locale: 'fr-FR', consent: { categoryPreferences: { analytics: true, advertising: false } } },
    timestamp: past,
  },
  delivered('identify'),
)
analytics.track(
  {
    userId: 'user-1',
    event: 'Order Completed',
    messageId: 'order-completed-user-1-0001',
    properties: {
      orderId: 'o-1', total: 99.95, currency: 'EUR', coupon: null, gift: false,
      products: [{ sku: 'sku-1', qty: 2, price: 19.99 }, { sku: 'sku-2', qty: 1, price: 59.97 }],
      note: 'emoji 😀, quote ", backslash \\, newline \n',
      big: 9007199254740991, negative: -12.5e-3,
    },
    integrations: { All: true, Mixpanel: false, Amplitude: { session_id: 12345 } },
    context: { protocols: { event_version: 2 }, campaign: { name: 'spring', source: 'newsletter' } },
  },
  delivered('track'),
)
analytics.track({ anonymousId: 'anon-2', event: 'Product Viewed', properties: { sku: 'sku-9' } }, delivered('track anon'))
analytics.page(
  { userId: 'user-1', category: 'Docs', name: 'Getting Started', properties: { url: 'https://example.com/docs', referrer: '' } },
  delivered('page'),
)
analytics.screen({ anonymousId: 'anon-3', name: 'Settings', properties: { tab: 'privacy' } }, delivered('screen'))
analytics.group(
  { userId: 'user-1', groupId: 'group-7', traits: { name: 'Acme Inc', employees: 120, industry: 'Technology' } },
  delivered('group'),
)
analytics.alias({ userId: 'user-1', previousId: 'anon-1' }, delivered('alias'))

await analytics.closeAndFlush({ timeout: 20_000 })

console.log(JSON.stringify({ requests, responses, failures }))
process.exit(failures.length ? 1 : 0)
