// load_node.mjs sends steady traffic through the real @segment/analytics-node
// SDK: one SDK instance per tracking API (host option), many users, every
// call type, spread over time. It prints, as one JSON object on stdout, every
// event some API acknowledged with a 2xx, with its userId and the time the
// acknowledgement arrived. The Go test cmd/sluice TestManyProcesses runs it
// against several `sluice run` processes while it kills and restarts them.
//
//   SLUICE_HOSTS=http://127.0.0.1:8088,http://127.0.0.1:8089 SLUICE_WRITE_KEY=wk \
//     node load_node.mjs < /dev/null
//
// Settings (environment):
//   SLUICE_HOSTS      comma-separated API base URLs, one SDK instance each (required)
//   SLUICE_WRITE_KEY  the source's write key (required)
//   SLUICE_USERS      how many users send events (default 100): userIds u-000 …
//   SLUICE_RATE       events per second over all instances (default 40)
//   SLUICE_MIN_MS     send for at least this long (default 20000)
//   SLUICE_MAX_MS     and at most this long (default 120000)
//
// It stops sending once SLUICE_MIN_MS has passed and its stdin has ended
// (the caller closes it to say "enough"), or at SLUICE_MAX_MS; then it
// flushes every instance and prints:
//
//   {"acked":[{"messageId","userId","type","at","api"}…], "sent": n,
//    "statuses": {"200": n…}, "failures": ["…"], "startedAt": ms, "stoppedAt": ms}
//
// "at" is milliseconds since the epoch when the 2xx response arrived; "api"
// is the index of the host in SLUICE_HOSTS. Progress goes to stderr.
import { Analytics } from '@segment/analytics-node'

const hosts = (process.env.SLUICE_HOSTS ?? '').split(',').filter(Boolean)
const writeKey = process.env.SLUICE_WRITE_KEY
if (hosts.length === 0 || !writeKey) {
  console.error('load_node.mjs: set SLUICE_HOSTS and SLUICE_WRITE_KEY')
  process.exit(2)
}
const users = Number(process.env.SLUICE_USERS ?? 100)
const rate = Number(process.env.SLUICE_RATE ?? 40)
const minMs = Number(process.env.SLUICE_MIN_MS ?? 20000)
const maxMs = Number(process.env.SLUICE_MAX_MS ?? 120000)

const acked = []
const ackedIds = new Set()
const statuses = {}
const failures = []
let sent = 0

const instances = hosts.map((host, api) => {
  const a = new Analytics({
    writeKey,
    host,
    flushAt: 20,
    flushInterval: 250,
    maxRetries: 10,
  })
  // The request body rides along with its response: an event is
  // acknowledged when a response to a body holding it is a 2xx.
  a.on('http_response', (res) => {
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
    if (res.status < 200 || res.status >= 300) return
    const at = Date.now()
    for (const ev of JSON.parse(res.body).batch) {
      if (ackedIds.has(ev.messageId)) continue
      ackedIds.add(ev.messageId)
      acked.push({ messageId: ev.messageId, userId: ev.userId, type: ev.type, at, api })
    }
  })
  return a
})

const delivered = (what) => (err) => {
  if (err) failures.push(`${what}: ${err?.message ?? err?.reason?.message ?? String(err)}`)
}

const userId = (n) => `u-${String(n).padStart(3, '0')}`
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)]
const events = ['Order Completed', 'Product Viewed', 'Page Scrolled']

// send makes one call of a type drawn with the weights below, for a random
// user, through a random instance.
function send() {
  const n = Math.floor(Math.random() * users)
  const u = userId(n)
  const a = pick(instances)
  const seq = sent++
  const r = Math.random()
  const what = `event ${seq} of ${u}`
  if (r < 0.6) {
    a.track({ userId: u, event: pick(events), properties: { seq, total: seq / 100, sku: `sku-${seq % 17}` } }, delivered(what))
  } else if (r < 0.7) {
    a.page({ userId: u, category: 'Docs', name: 'Home', properties: { seq, url: `https://example.com/${seq}` } }, delivered(what))
  } else if (r < 0.8) {
    a.screen({ userId: u, name: 'Settings', properties: { seq } }, delivered(what))
  } else if (r < 0.9) {
    // The anonymousId links to the user: a suppressed user's is suppressed too.
    a.identify({ userId: u, anonymousId: `anon-${n}`, traits: { seq, plan: pick(['free', 'pro']) } }, delivered(what))
  } else if (r < 0.95) {
    a.group({ userId: u, groupId: `g-${n % 7}`, traits: { seq } }, delivered(what))
  } else {
    a.alias({ userId: u, previousId: `anon-${n}` }, delivered(what))
  }
}

let stdinEnded = false
process.stdin.on('end', () => { stdinEnded = true })
process.stdin.on('error', () => { stdinEnded = true })
process.stdin.resume()

const startedAt = Date.now()
const tickMs = 50
let due = 0
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const elapsed = Date.now() - startedAt
    if ((elapsed >= minMs && stdinEnded) || elapsed >= maxMs) {
      clearInterval(timer)
      resolve()
      return
    }
    // Catch up on ticks the event loop missed, so the rate holds.
    due = (elapsed * rate) / 1000
    while (sent < due) send()
  }, tickMs)
  setInterval(() => {
    console.error(`load_node: ${Math.round((Date.now() - startedAt) / 1000)}s sent ${sent} acked ${acked.length} failures ${failures.length}`)
  }, 5000).unref()
})
const stoppedAt = Date.now()
process.stdin.pause()

await Promise.all(instances.map((a) => a.closeAndFlush({ timeout: 60_000 })))
console.error(`load_node: done: sent ${sent} acked ${acked.length} failures ${failures.length}`)
// Exit only once the report is written: a pipe may take it in pieces.
process.stdout.write(JSON.stringify({ acked, sent, statuses, failures, startedAt, stoppedAt }) + '\n', () => process.exit(0))
