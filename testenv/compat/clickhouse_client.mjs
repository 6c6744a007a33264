// Drives a ClickHouse HTTP server with the official JS client
// (@clickhouse/client): DDL, a 50K-row JSONEachRow insert, parameterized
// DELETE and SELECT, and an exception. Exits non-zero on any mismatch.
//
// usage: node clickhouse_client.mjs <url> <database>
import { createClient, ClickHouseError, ClickHouseLogLevel } from '@clickhouse/client'

const [url, database] = process.argv.slice(2)
if (!url || !database) {
  console.error('usage: node clickhouse_client.mjs <url> <database>')
  process.exit(2)
}

// The expected exception below would otherwise be logged as an error.
const client = createClient({ url, database, log: { level: ClickHouseLogLevel.OFF } })

function expect(what, got, want) {
  if (got !== want) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
  }
}

async function count(where = '1', params = {}) {
  const rs = await client.query({
    query: `SELECT count() AS c FROM events WHERE ${where}`,
    query_params: params,
    format: 'JSONEachRow',
  })
  const rows = await rs.json()
  return Number(rows[0].c)
}

try {
  const ping = await client.ping()
  expect('ping', ping.success, true)

  await client.command({
    query: `CREATE TABLE events (id UInt64, user_id String, props JSON, at DateTime64(3))
            ENGINE = MergeTree ORDER BY id`,
  })

  const rows = 50_000
  const values = Array.from({ length: rows }, (_, i) => ({
    id: i,
    user_id: `user-${i % 50}`,
    props: { n: i, tag: i % 2 ? 'odd' : 'even' },
    at: '2024-05-06 07:08:09.123',
  }))
  const inserted = await client.insert({ table: 'events', values, format: 'JSONEachRow' })
  expect('insert summary written_rows', inserted.summary?.written_rows, String(rows))
  expect('count after insert', await count(), rows)

  await client.command({
    query: 'DELETE FROM events WHERE id = {id:UInt64}',
    query_params: { id: 42 },
  })
  await client.command({
    query: 'DELETE FROM events WHERE user_id = {user:String}',
    query_params: { user: 'user-7' },
  })
  expect('count after deletes', await count(), rows - 1 - rows / 50)
  expect('deleted id', await count('id = {id:UInt64}', { id: 42 }), 0)
  expect('deleted user', await count('user_id = {user:String}', { user: 'user-7' }), 0)
  // user-7's rows all have odd ids; id 42 is even.
  expect('JSON path', await count("props.tag = 'odd'"), rows / 2 - rows / 50)

  try {
    await client.query({ query: 'SELECT * FROM no_such_table' })
    throw new Error('querying a missing table did not fail')
  } catch (err) {
    if (!(err instanceof ClickHouseError)) throw err
    expect('exception code', err.code, '60')
  }
  console.log('clickhouse_client.mjs: all checks passed')
} catch (err) {
  console.error('clickhouse_client.mjs:', err)
  process.exitCode = 1
} finally {
  await client.close()
}
