// browser_analytics.mjs opens web pages in headless Chromium (Debian's, driven
// by playwright-core) and reports, as one JSON object on stdout, every console
// error and warning, page error and failed request. The Go test topology/api
// TestAnalyticsJSInBrowser serves pages that load the real analytics.js the
// way Segment's snippet does, records what the API received, and checks what
// sluice stored, field by field.
//
//   SLUICE_PAGES=http://127.0.0.1:9000/a,http://127.0.0.1:9000/b \
//   SLUICE_COUNT_URL=http://127.0.0.1:9000/count SLUICE_SHOWN=6,1 SLUICE_HIDDEN=0,2 \
//     node browser_analytics.mjs
//
// For each page, in order: open it, wait until the API answered the POSTs the
// page sends while shown, then leave it for about:blank, which fires pagehide
// (beacons, keepalive flushes), and wait until the API answered those too.
// The count of POSTs the API answered is read from SLUICE_COUNT_URL (the Go
// test serves it): requests a page sends as it goes away are not reported to
// the driver.
//
// Settings (environment):
//   SLUICE_PAGES      comma-separated page URLs (required)
//   SLUICE_COUNT_URL  answers the number of POSTs the API has answered (required)
//   SLUICE_SHOWN      how many POSTs each page sends while shown, comma-separated
//   SLUICE_HIDDEN     how many POSTs each page sends once hidden, comma-separated
//   CHROMIUM          the browser (default /usr/bin/chromium)
//
// Output: {"errors":["…"], "requests":["page 0: GET http://…"…],
// "abortedOnHide":["POST http://…"…]}; exit 1 on a
// driver failure (a page that never sent what it should).
import { chromium } from 'playwright-core'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const pages = (process.env.SLUICE_PAGES ?? '').split(',').filter(Boolean)
const countURL = process.env.SLUICE_COUNT_URL
if (pages.length === 0 || !countURL) {
  console.error('browser_analytics.mjs: set SLUICE_PAGES and SLUICE_COUNT_URL')
  process.exit(2)
}
const counts = (v) => (v ?? '').split(',').map((n) => Number(n || 0))
const shown = counts(process.env.SLUICE_SHOWN)
const hidden = counts(process.env.SLUICE_HIDDEN)
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'

const userDataDir = mkdtempSync(join(tmpdir(), 'sluice-chromium-'))
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
})

const requests = []
const errors = []
let current = -1
context.on('request', (req) => requests.push(`page ${current}: ${req.method()} ${req.url()}`))
// A request the page sends as it goes away (keepalive fetch, beacon) is
// reported aborted by the document that sent it even when the browser
// delivered it: those are listed apart, for the caller to check against what
// the API received.
let leaving = false
const abortedOnHide = []
context.on('requestfailed', (req) => {
  const why = req.failure()?.errorText
  if (leaving && why === 'net::ERR_ABORTED') {
    abortedOnHide.push(`${req.method()} ${req.url()}`)
    return
  }
  errors.push(`request failed on page ${current}: ${req.method()} ${req.url()}: ${why}`)
})
const answered = async () => Number(await (await fetch(countURL)).text())

const until = async (what, cond, ms = 30_000) => {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const page = await context.newPage()
page.on('console', (msg) => {
  if (msg.type() === 'error' || msg.type() === 'warning') errors.push(`console ${msg.type()} on page ${current}: ${msg.text()}`)
})
page.on('pageerror', (err) => errors.push(`page error on page ${current}: ${err.message}`))

let status = 0
try {
  for (let i = 0; i < pages.length; i++) {
    current = i
    leaving = false
    const start = await answered()
    await page.goto(pages[i], { waitUntil: 'load' })
    const wantShown = shown[i] ?? 0
    await until(`${wantShown} POSTs from page ${i}`, async () => (await answered()) - start >= wantShown)
    const before = await answered()
    leaving = true
    // Leaving the page fires pagehide: analytics.js flushes its batch with
    // keepalive and the page sends its beacon.
    await page.goto('about:blank')
    const wantHidden = hidden[i] ?? 0
    await until(`${wantHidden} POSTs after page ${i} was hidden`, async () => (await answered()) - before >= wantHidden)
    // Late requests (retries, metrics) would show here too.
    await new Promise((r) => setTimeout(r, 300))
  }
} catch (err) {
  errors.push(`driver: ${err.message}`)
  status = 1
}
await context.close()
rmSync(userDataDir, { recursive: true, force: true })
console.log(JSON.stringify({ errors, requests, abortedOnHide }))
process.exit(status)
