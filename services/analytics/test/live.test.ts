import t from 'tap'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import { buildApp } from '../src/app.js'
import { loadAnalyticsConfig } from '../src/config.js'
import { notifyChange } from '../src/db/live.js'
import { build, deliver, orderCreated, paymentChanged, type Harness } from './helper.js'
import { openSse, type SseEvent } from './sse.js'

interface Change { kind: string, order_id: string, status: string, applied: boolean }
const changesOf = (e: SseEvent): Change[] => e.event === 'changes' ? (JSON.parse(e.data) as { changes: Change[] }).changes : []
const mentions = (orderId: string, kind?: string) => (e: SseEvent): boolean => changesOf(e).some((c) => c.order_id === orderId && (kind === undefined || c.kind === kind))

async function listen (h: Harness): Promise<string> {
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/api/analytics/live/`
}

t.test('GET /api/analytics/live/: staff only', async (t) => {
  const h = await build(t)
  t.equal((await h.app.inject({ url: '/api/analytics/live/' })).statusCode, 401, 'no token')
  const player = await h.app.inject({ url: '/api/analytics/live/', headers: h.player() })
  t.equal(player.statusCode, 403, 'a player')
  t.equal(player.json().message, 'Staff access required.')
  t.equal((await h.app.inject({ url: '/api/analytics/live/', headers: { authorization: 'Bearer nonsense' } })).statusCode, 401, 'a bad token')
  const expired = h.issuer.token({ sub: '33333333-3333-4333-8333-333333333333', staff: true }, { expiresInSeconds: -60 })
  t.equal((await h.app.inject({ url: '/api/analytics/live/', headers: { authorization: `Bearer ${expired}` } })).statusCode, 401, 'an expired token')
})

t.test('the stream tells of each change at its commit, and of nothing rolled back', async (t) => {
  const h = await build(t, { env: { LIVE_HEARTBEAT_MS: '300' } })
  const url = await listen(h)
  const stream = await openSse(url, h.staff())
  t.teardown(() => { stream.close() })
  t.equal(stream.status, 200)
  t.match(stream.headers.get('content-type'), /^text\/event-stream/)
  t.equal(stream.headers.get('cache-control'), 'no-store')
  t.ok((await stream.next((e) => e.event === 'retry')) !== undefined, 'a retry delay first')
  t.same(JSON.parse((await stream.next((e) => e.event === 'ready')).data), { listening: true }, 'ready, and listening')

  const order = orderCreated({ created_at: new Date().toISOString() })
  const applied = Date.now()
  await h.deliver(order)
  const created = await stream.next(mentions(order.data.order_id, 'order'), 2000)
  t.ok(created.at - applied < 2000, `the new order within 2 s (${created.at - applied} ms)`)
  t.match(changesOf(created).find((c) => c.order_id === order.data.order_id), { kind: 'order', status: 'pending', transaction_id: order.data.transaction_id })

  const paid = Date.now()
  await h.deliver(paymentChanged(order, 'success'))
  const settled = await stream.next(mentions(order.data.order_id, 'payment'), 2000)
  t.ok(settled.at - paid < 2000, `its payment within 2 s (${settled.at - paid} ms)`)
  t.match(changesOf(settled).find((c) => c.kind === 'payment'), { status: 'success' })

  // a late contradicting result moves no figure but joins the order's timeline: told, as not applied
  const late = paymentChanged(order, 'failed')
  await h.deliver(late)
  const told = await stream.next((e) => changesOf(e).some((c) => c.order_id === order.data.order_id && c.status === 'failed'), 2000)
  t.match(changesOf(told).find((c) => c.status === 'failed'), { kind: 'payment', applied: false }, 'a result that changed nothing is told as not applied')
  // a duplicate delivery (the inbox skips it): nothing to tell
  const before = stream.events.length
  t.equal(await h.deliver(late), false, 'the duplicate is skipped')
  await h.deliver(order)
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.same(stream.events.slice(before).filter((e) => e.event === 'changes'), [], 'a duplicate, or the same order again, is not told')

  // at commit, not before; a rollback never
  const held = '00000000-0000-4000-8000-00000000a001'
  const rolledBack = '00000000-0000-4000-8000-00000000a002'
  await h.app.db.transaction().execute(async (trx) => {
    await notifyChange(trx, { kind: 'order', order_id: rolledBack, transaction_id: rolledBack, status: 'pending', applied: true })
    await sql`SELECT 1/0`.execute(trx)
  }).catch(() => {})
  let committedAt = 0
  await h.app.db.transaction().execute(async (trx) => {
    await notifyChange(trx, { kind: 'order', order_id: held, transaction_id: held, status: 'pending', applied: true })
    await new Promise((resolve) => setTimeout(resolve, 500))
    t.notOk(stream.events.some(mentions(held)), 'nothing before the commit')
    committedAt = Date.now()
  })
  const heard = await stream.next(mentions(held), 2000)
  t.ok(heard.at >= committedAt, 'told after the commit')
  t.notOk(stream.events.some(mentions(rolledBack)), 'a rolled-back change is never told')

  const beats = stream.events.filter((e) => e.event === 'comment' && e.comment === 'heartbeat').length
  t.ok(beats >= 2, `a comment heartbeat every LIVE_HEARTBEAT_MS (${beats} so far)`)
})

t.test('a burst of changes is one message per ~150 ms, not one per change', async (t) => {
  const h = await build(t)
  const stream = await openSse(await listen(h), h.staff())
  t.teardown(() => { stream.close() })
  await stream.next((e) => e.event === 'ready')
  const orders = Array.from({ length: 30 }, () => orderCreated({ created_at: new Date().toISOString() }))
  await Promise.all(orders.map((o) => h.deliver(o)))
  const last = orders.at(-1)?.data.order_id ?? ''
  await stream.next(mentions(last), 3000)
  const messages = stream.events.filter((e) => e.event === 'changes')
  const told = messages.reduce((n, e) => n + (JSON.parse(e.data) as { count: number }).count, 0)
  t.equal(told, 30, 'every change counted')
  t.ok(messages.length < 30, `in ${messages.length} messages`)
})

t.test('every instance serves it: a change applied by one instance reaches the streams of the other', async (t) => {
  const h = await build(t)
  const other = await buildApp(loadAnalyticsConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: h.databaseUrl, AMQP_URL: h.amqpUrl, BROKER_PREFIX: h.prefix, AUTH_URL: h.issuer.jwksBaseUrl
  }))
  t.teardown(async () => { await other.close() })
  await other.listen({ port: 0, host: '127.0.0.1' })
  const stream = await openSse(`http://127.0.0.1:${(other.server.address() as AddressInfo).port}/api/analytics/live/`, h.staff())
  t.teardown(() => { stream.close() })
  await stream.next((e) => e.event === 'ready')
  const order = orderCreated({ created_at: new Date().toISOString() })
  // applied through the first instance's own database pool
  await deliver(h.app.db, order)
  t.ok(await stream.next(mentions(order.data.order_id), 2000), 'heard on the other instance')
})

t.test('a lost LISTEN connection is re-made, and the streams are told to resync', async (t) => {
  const h = await build(t)
  const stream = await openSse(await listen(h), h.staff())
  t.teardown(() => { stream.close() })
  await stream.next((e) => e.event === 'ready')
  const killed = await sql<{ n: number }>`
    SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`.execute(h.app.db)
  t.equal(killed.rows[0]?.n, 1, 'the LISTEN connection was cut')
  await stream.next((e) => e.event === 'resync', 5000)
  t.pass('resync told after the reconnect')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(h.app.live.listening(), 'listening again')
  const order = orderCreated({ created_at: new Date().toISOString() })
  await h.deliver(order)
  t.ok(await stream.next(mentions(order.data.order_id), 2000), 'and changes flow again')
})

t.test('closing the server ends the open streams at once', async (t) => {
  const h = await build(t)
  const stream = await openSse(await listen(h), h.staff())
  await stream.next((e) => e.event === 'ready')
  t.equal(h.app.live.subscribers(), 1)
  const started = Date.now()
  await h.app.close()
  t.ok(Date.now() - started < 3000, `closed in ${Date.now() - started} ms`)
  for (let i = 0; i < 100 && !stream.ended(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(stream.ended(), 'the stream ended')
  t.equal(h.app.live.subscribers(), 0, 'no subscriber left')
})

t.test('a client that leaves is unsubscribed', async (t) => {
  const h = await build(t)
  const stream = await openSse(await listen(h), h.staff())
  await stream.next((e) => e.event === 'ready')
  t.equal(h.app.live.subscribers(), 1)
  stream.close()
  for (let i = 0; i < 100 && h.app.live.subscribers() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(h.app.live.subscribers(), 0)
})
