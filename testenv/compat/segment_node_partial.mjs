// segment_node_partial.mjs sends one batch through the real
// @segment/analytics-node SDK in which one item breaks a sluice rule the SDK
// does not check (a messageId over 100 characters). It prints, as one JSON
// line on stdout, the request bodies the SDK sent, the statuses it saw and
// its delivery failures. The Go test topology/api TestSegmentNodeSDKPartialBatch
// checks that sluice stored every other event of the batch.
//
//   SLUICE_HOST=http://127.0.0.1:8088 SLUICE_WRITE_KEY=wk node segment_node_partial.mjs
import { Analytics } from '@segment/analytics-node'

const host = process.env.SLUICE_HOST
const writeKey = process.env.SLUICE_WRITE_KEY
if (!host || !writeKey) {
  console.error('segment_node_partial.mjs: set SLUICE_HOST and SLUICE_WRITE_KEY')
  process.exit(2)
}
const analytics = new Analytics({ writeKey, host, flushAt: 5, flushInterval: 10_000, maxRetries: 0 })
const requests = []
const responses = []
const failures = []
analytics.on('http_request', (req) => requests.push(JSON.parse(req.body)))
analytics.on('http_response', (res) => responses.push(res.status))
const delivered = (what) => (err) => {
  if (err) failures.push(`${what}: ${err.message ?? err}`)
}
for (let i = 0; i < 5; i++) {
  const messageId = i === 2 ? 'x'.repeat(150) : `partial-${i}`
  analytics.track({ userId: 'user-p', event: 'Item Viewed', messageId, properties: { i } }, delivered(`item ${i}`))
}
await analytics.closeAndFlush({ timeout: 20_000 })
console.log(JSON.stringify({ requests, responses, failures }))
process.exit(failures.length ? 1 : 0)
