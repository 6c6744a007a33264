// Runs the example queries of docs/warehouse.md with the official ClickHouse
// JS client (@clickhouse/client): every ```sql block whose first line is
// "-- example: <name>". Prints {"<name>": [rows…], …} as JSON on stdout and
// exits non-zero when a query fails or returns no row.
//
// usage: node warehouse_examples.mjs <url> <database> <path/to/warehouse.md>
import { readFileSync } from 'node:fs'
import { createClient, ClickHouseLogLevel } from '@clickhouse/client'

const [url, database, doc] = process.argv.slice(2)
if (!url || !database || !doc) {
  console.error('usage: node warehouse_examples.mjs <url> <database> <warehouse.md>')
  process.exit(2)
}

const examples = []
for (const m of readFileSync(doc, 'utf8').matchAll(/```sql\n([\s\S]*?)```/g)) {
  const body = m[1]
  const name = body.match(/^-- example: (\S+)\n/)
  if (name) {
    examples.push({ name: name[1], query: body.slice(name[0].length).trim() })
  }
}
if (examples.length === 0) {
  console.error(`no "-- example:" sql blocks in ${doc}`)
  process.exit(1)
}

const client = createClient({ url, database, log: { level: ClickHouseLogLevel.OFF } })
const results = {}
let failed = false
try {
  for (const { name, query } of examples) {
    try {
      const rs = await client.query({ query, format: 'JSONEachRow' })
      const rows = await rs.json()
      results[name] = rows
      if (rows.length === 0) {
        console.error(`${name}: no rows`)
        failed = true
      }
    } catch (err) {
      console.error(`${name}: ${err.message}`)
      failed = true
    }
  }
} finally {
  await client.close()
}
console.log(JSON.stringify(results))
process.exit(failed ? 1 : 0)
