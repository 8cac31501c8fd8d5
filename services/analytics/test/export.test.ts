import t from 'tap'
import { get, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import { parseCsv } from '@topup/service-kit/testing'
import { build, orderCreated, paymentChanged, type Harness } from './helper.js'

const HEADER = ['order_id', 'transaction_id', 'user_email', 'game', 'product', 'amount', 'currency', 'status', 'created_at']

async function download (h: Harness, url: string) {
  const res = await h.app.inject({ url, headers: h.staff() })
  return { res, rows: parseCsv(res.body) }
}

t.test('CSV content: header, one row per order, quoting, formula neutralisation, ranges', async (t) => {
  const h = await build(t)
  const tricky = orderCreated({ created_at: '2026-03-10T10:00:00.000Z', product: { id: 7, name: '=HYPERLINK("x")' }, user_email: '+1@players.test', amount: '10.50' })
  const commas = orderCreated({ created_at: '2026-03-10T11:00:00.000Z', product: { id: 8, name: 'Gems, "big"\npack' }, game: { id: 2, code: 'g2', name: '@home' } })
  const dashes = orderCreated({ created_at: '2026-03-11T00:00:00.000Z', product: { id: 9, name: '-5 gems' }, game: { id: 3, code: 'g3', name: '\tTabbed' } })
  const cr = orderCreated({ created_at: '2026-03-09T23:59:59.999Z', product: { id: 10, name: '\rCR first' }, game: { id: 4, code: 'g4', name: 'mid\rCR' } })
  for (const o of [tricky, commas, dashes, cr]) await h.deliver(o)
  await h.deliver(paymentChanged(tricky, 'failed', '2026-03-10T10:05:00.000Z'))
  await h.deliver(paymentChanged(commas, 'success'))
  // a payment result still waiting for its order is not exported
  await h.deliver(paymentChanged(orderCreated({ created_at: '2026-03-10T12:00:00.000Z' }), 'failed'))

  const { res, rows } = await download(h, '/api/export/orders/')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
  t.equal(res.headers['content-disposition'], 'attachment; filename="orders_all.csv"', 'the name says it is everything')
  t.same(rows[0], HEADER, 'header row first')
  t.equal(rows.length, 5, 'one row per complete order')
  t.same(rows.slice(1).map((r) => r[0]), [cr, tricky, commas, dashes].map((o) => o.data.order_id), 'oldest first')
  const byId = new Map(rows.slice(1).map((r) => [r[0], r]))
  t.same(byId.get(tricky.data.order_id), [tricky.data.order_id, tricky.data.transaction_id, "'+1@players.test", 'clash of clan', '\'=HYPERLINK("x")', '10.50', 'INR', 'failed', '2026-03-10T10:00:00.000Z'])
  t.ok(res.body.includes('"\'=HYPERLINK(""x"")"'), 'the formula is neutralised and its quotes doubled')
  t.same(byId.get(commas.data.order_id)?.slice(3, 5), ["'@home", 'Gems, "big"\npack'], 'commas, quotes and newlines survive inside one quoted cell')
  t.same(byId.get(dashes.data.order_id)?.slice(3, 5), ["'\tTabbed", "'-5 gems"])
  t.same(byId.get(cr.data.order_id)?.slice(3, 5), ['mid\rCR', "'\rCR first"], 'a CR inside a cell stays inside it (every cell is quoted)')

  const failures = await download(h, '/api/export/failures/')
  t.equal(failures.res.headers['content-disposition'], 'attachment; filename="failed_payments_all.csv"')
  t.same(failures.rows.map((r) => r[0]), ['order_id', tricky.data.order_id])
  t.same(failures.rows[0], [...HEADER, 'failed_at', 'provider'], 'the failures say when and by which provider')
  t.same(failures.rows[1]?.slice(-2), ['2026-03-10T10:05:00.000Z', 'sandbox'])

  const day = await download(h, '/api/export/orders/?start_date=2026-03-10&end_date=2026-03-10')
  t.equal(day.res.headers['content-disposition'], 'attachment; filename="orders_2026-03-10_2026-03-10.csv"', 'the name carries the range')
  t.same(day.rows.slice(1).map((r) => r[0]), [tricky.data.order_id, commas.data.order_id], 'UTC day bounds, inclusive')
  const from = await download(h, '/api/export/orders/?start_date=2026-03-11')
  t.equal(from.res.headers['content-disposition'], 'attachment; filename="orders_from_2026-03-11.csv"')
  t.same(from.rows.slice(1).map((r) => r[0]), [dashes.data.order_id], 'open end')
  const none = await download(h, '/api/export/failures/?end_date=2026-03-09')
  t.equal(none.res.headers['content-disposition'], 'attachment; filename="failed_payments_until_2026-03-09.csv"')
  t.same(none.rows, [[...HEADER, 'failed_at', 'provider']], 'an empty export still has its header')
  const bad = await h.app.inject({ url: '/api/export/orders/?start_date=2026-02-30', headers: h.staff() })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().details[0].field, 'start_date')
})

t.test('a 200 000-row export streams in flat memory, and an aborted one releases its cursor', async (t) => {
  const h = await build(t)
  const ROWS = 200_000
  await sql`
    INSERT INTO order_facts (order_id, transaction_id, user_id, user_email, game_id, game_code, game_name, product_id, product_name, amount, currency, status, created_at)
    SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'user' || i || '@players.test', 1 + i % 3, 'g' || i % 3, 'Game ' || i % 3,
           10 + i % 7, CASE WHEN i % 1000 = 0 THEN '=cmd|'' /C calc''!A0' ELSE 'Product ' || i % 7 END, (100 + i % 900)::numeric(12,2), 'INR',
           (ARRAY['pending', 'success', 'failed'])[1 + i % 3], timestamptz '2026-01-01' + i * interval '13 seconds'
      FROM generate_series(1, ${ROWS}) AS i`.execute(h.app.db)
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (h.app.server.address() as AddressInfo).port
  const authorization = h.staff().authorization
  const open = async (path: string): Promise<IncomingMessage> => await new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, headers: { authorization } }, resolve).on('error', reject)
  })

  // warm up (JIT, pools) so the baseline is the steady state
  const warm = await open('/api/export/orders/?end_date=2026-01-01')
  for await (const _ of warm) { /* drain */ }
  global.gc?.()
  const base = process.memoryUsage()
  let peakRss = base.rss
  let peakHeap = base.heapUsed
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    peakRss = Math.max(peakRss, m.rss)
    peakHeap = Math.max(peakHeap, m.heapUsed)
  }, 10)
  const started = Date.now()
  const res = await open('/api/export/orders/')
  t.equal(res.statusCode, 200)
  let bytes = 0
  let lines = 0
  let neutralised = 0
  for await (const chunk of res as AsyncIterable<Buffer>) {
    bytes += chunk.length
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++
    neutralised += chunk.toString('latin1').split('"\'=cmd|').length - 1
  }
  clearInterval(sampler)
  const seconds = (Date.now() - started) / 1000
  const rssGrowth = (peakRss - base.rss) / 1_048_576
  const heapGrowth = (peakHeap - base.heapUsed) / 1_048_576
  t.equal(lines, ROWS + 1, 'header + every row')
  t.equal(neutralised, ROWS / 1000, 'every formula cell neutralised')
  t.comment(`export: ${ROWS} rows, ${(bytes / 1_048_576).toFixed(1)} MB in ${seconds.toFixed(1)} s; peak growth during the download: rss ${rssGrowth.toFixed(1)} MB, heapUsed ${heapGrowth.toFixed(1)} MB`)
  t.ok(rssGrowth < 50, `rss grew ${rssGrowth.toFixed(1)} MB (< 50 MB) for a ${(bytes / 1_048_576).toFixed(0)} MB file`)
  t.ok(heapGrowth < 50, `heapUsed grew ${heapGrowth.toFixed(1)} MB (< 50 MB)`)

  // abort mid-download: the cursor closes and the connection goes back to the pool
  const activeExports = async (): Promise<number> => {
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%FROM order_facts WHERE created_at IS NOT NULL%' AND state <> 'idle'`.execute(h.app.db)
    return r.rows[0]?.n ?? 0
  }
  const aborted = await open('/api/export/orders/')
  let received = 0
  await new Promise<void>((resolve) => {
    aborted.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received > 256 * 1024) { aborted.pause(); resolve() }
    })
  })
  // backpressure: a client that stops reading stops the cursor (unbounded reading would finish the 200k rows in ~2.5 s)
  const pausedAt = process.memoryUsage().rss
  await new Promise((resolve) => setTimeout(resolve, 3000))
  t.equal(h.app.exportStats().streaming, 1, 'a paused client holds the cursor where it is: nothing is read ahead into memory')
  t.ok(process.memoryUsage().rss - pausedAt < 20 * 1_048_576, 'no growth while the client does not read')
  aborted.destroy()
  const deadline = Date.now() + 5000
  while ((h.app.exportStats().streaming !== 0 || await activeExports() !== 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
  const stats = h.app.exportStats()
  t.equal(stats.streaming, 0, 'the export ended with the client')
  t.equal(stats.pool.idle, stats.pool.total, 'its connection is back in the pool, idle')
  t.equal(await activeExports(), 0, 'no export query left running in PostgreSQL (pg_stat_activity)')
  const after = await h.app.inject({ url: '/api/export/failures/?start_date=2026-01-01&end_date=2026-01-01', headers: h.staff() })
  t.equal(after.statusCode, 200, 'the pool still serves exports')
  const failedThatDay = await sql<{ n: number }>`SELECT count(*)::int AS n FROM order_facts
    WHERE status = 'failed' AND created_at >= '2026-01-01T00:00:00Z' AND created_at < '2026-01-02T00:00:00Z'`.execute(h.app.db)
  t.equal(parseCsv(after.body).length, 1 + (failedThatDay.rows[0]?.n ?? -1), 'a day of failed orders')
})
