import t, { type Test } from 'tap'
import { sql, type Kysely } from 'kysely'
import { PaymentStatusChanged, validateEvent } from '@topup/contracts'
import { buildApp } from '../src/app.js'
import { loadPaymentsConfig } from '../src/config.js'
import type { Database } from '../src/db/schema.js'
import { expireStalePayments, expiryCorrelationId, sweepStalePayments } from '../src/payments/expire-payments.js'
import { build, callWebhook, findTransaction, insertPending, outboxEvents, waitFor, WEBHOOK_SECRET, webhookCalls, type Harness } from './helper.js'

/** The test drives the sweeps itself: the app's own timer never fires during a test. */
const NO_TIMER = { PAYMENT_EXPIRY_SWEEP_SECONDS: '0' }
const LIMIT = { olderThanMinutes: 30, limit: 100 }

/** recorded_at this many minutes ago. */
function minutesAgo (minutes: number): Date {
  return new Date(Date.now() - minutes * 60_000)
}

/** A second payments instance on the harness's database and broker prefix (as `--scale payments=2` runs it), closed before the harness. */
async function secondInstance (t: Test, harness: Harness): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const app = await buildApp(loadPaymentsConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: harness.databaseUrl,
    AMQP_URL: harness.amqpUrl,
    BROKER_PREFIX: harness.prefix,
    PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ...NO_TIMER
  }))
  t.teardown(async () => { await app.close() })
  await app.ready()
  return app
}

/** Backends of this database waiting for a lock while running a statement that matches. */
async function waitingOnLock (db: Kysely<Database>, query: RegExp): Promise<boolean> {
  const { rows } = await sql<{ query: string }>`SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db)
  return rows.some((r) => query.test(r.query))
}

/** Holds the outbox locked against inserts until `release` is called: a settlement that has moved its row waits there, its row lock held. */
function holdOutbox (db: Kysely<Database>): { locked: Promise<void>, release: () => void, done: Promise<void> } {
  let release!: () => void
  let locked!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const isLocked = new Promise<void>((resolve) => { locked = resolve })
  const done = db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE outbox IN EXCLUSIVE MODE`.execute(trx)
    locked()
    await released
  })
  return { locked: isLocked, release, done }
}

t.test('a pending transaction older than the limit expires: failed, reason expired, one PaymentStatusChanged; a fresh one is untouched', async (t) => {
  const harness = await build(t, NO_TIMER)
  const stale = await insertPending(harness, { recorded_at: minutesAgo(31), amount: '75.00' })
  const fresh = await insertPending(harness, { recorded_at: minutesAgo(29) })
  // an old order whose transaction payments recorded just now (a backdated order, delayed events): its window starts now
  const backdated = await insertPending(harness, { created_at: minutesAgo(60 * 24 * 10) })
  const settled = await insertPending(harness, { recorded_at: minutesAgo(120) })
  t.equal((await callWebhook(harness, { transaction_id: settled.transaction_id, status: 'success' })).statusCode, 200)

  const before = Date.now()
  const expired = await expireStalePayments(harness.app.db, LIMIT)
  t.same(expired, [{ transactionId: stale.transaction_id, orderId: stale.order_id, correlationId: `expiry-${stale.transaction_id}` }], 'only the stale pending one')

  const row = await findTransaction(harness, stale.transaction_id)
  t.equal(row?.status, 'failed')
  t.equal(row?.failure_reason, 'expired', 'the audit says what failed it')
  t.ok((row?.updated_at.getTime() ?? 0) >= before - 1000, 'updated_at is the moment it expired')
  for (const [what, tx, status] of [['fresh', fresh, 'pending'], ['backdated', backdated, 'pending'], ['settled', settled, 'success']] as const) {
    const other = await findTransaction(harness, tx.transaction_id)
    t.match(other, { status, failure_reason: null }, `${what}: untouched`)
  }

  const events = (await outboxEvents(harness)).filter((e) => e.payload.data.transaction_id === stale.transaction_id)
  t.equal(events.length, 1, 'exactly one event for the expired transaction')
  const event = events[0]
  t.equal(event?.routing_key, PaymentStatusChanged.routingKey)
  t.equal(event?.correlation_id, expiryCorrelationId(stale.transaction_id))
  t.same(event?.payload.data, {
    transaction_id: stale.transaction_id,
    order_id: stale.order_id,
    status: 'failed',
    previous_status: 'pending',
    amount: '75.00',
    currency: 'INR',
    provider: 'sandbox',
    changed_at: row?.updated_at.toISOString()
  })
  t.ok(validateEvent(PaymentStatusChanged, event?.payload, { strict: true }).ok, 'the event satisfies its contract')

  t.same(await expireStalePayments(harness.app.db, LIMIT), [], 'a second sweep finds nothing')
  t.equal((await outboxEvents(harness)).filter((e) => e.payload.data.transaction_id === stale.transaction_id).length, 1, 'still exactly one event')
  t.equal((await outboxEvents(harness)).length, 2, 'the settled one\'s event and the expiry\'s, nothing else')
  t.same(await webhookCalls(harness).then((calls) => calls.map((c) => c.transaction_id)), [settled.transaction_id], 'the sweep is no webhook call')
})

t.test('a late webhook for an expired transaction: success is a 409 that changes nothing, failed a 200 that changes nothing', async (t) => {
  const harness = await build(t, NO_TIMER)
  const tx = await insertPending(harness, { recorded_at: minutesAgo(45) })
  t.equal((await expireStalePayments(harness.app.db, LIMIT)).length, 1)
  const expired = await findTransaction(harness, tx.transaction_id)

  const late = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' }, { headers: { 'x-request-id': 'late-success' } })
  t.equal(late.statusCode, 409, late.body)
  t.equal(late.json().message, 'Transaction is already failed.')
  const agreeing = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'failed' })
  t.equal(agreeing.statusCode, 200, agreeing.body)
  t.same(agreeing.json(), { transaction_id: tx.transaction_id, status: 'failed', changed: false })

  t.same(await findTransaction(harness, tx.transaction_id), expired, 'the row is exactly as the sweep left it')
  t.equal((await outboxEvents(harness)).length, 1, 'no event but the expiry\'s')
  t.match(await webhookCalls(harness), [
    { request_id: 'late-success', signature_valid: true, matched_secret: 'current', requested_status: 'success', response_status: 409, outcome: 'already failed (expired)' },
    { requested_status: 'failed', response_status: 200, outcome: 'repeat of the current status (expired)' }
  ])
  const warning = harness.logs.entries().find((e) => e.msg === 'webhook for an expired transaction' && e.status === 'success')
  t.match(warning, { level: 40, transactionId: tx.transaction_id, orderId: tx.order_id }, 'a late success is logged at warn: money for a failed order')
})

t.test('two instances sweeping at once expire each stale transaction exactly once', async (t) => {
  const harness = await build(t, NO_TIMER)
  const other = await secondInstance(t, harness)
  const stale = await Promise.all(Array.from({ length: 60 }, async (_, i) => await insertPending(harness, { recorded_at: minutesAgo(31 + i) })))
  const fresh = await insertPending(harness)

  // three sweeps per instance, small batches, all at once
  const sweeps = [harness.app.db, harness.app.db, harness.app.db, other.db, other.db, other.db].map(async (db) => {
    const mine: string[] = []
    await sweepStalePayments(db, { olderThanMinutes: 30, limit: 7, onExpired: (expired) => { mine.push(...expired.map((e) => e.transactionId)) } })
    return mine
  })
  const claimed = (await Promise.all(sweeps)).flat()
  t.equal(claimed.length, 60, 'the sweeps together expired 60')
  t.equal(new Set(claimed).size, 60, 'no transaction expired twice')
  t.same([...claimed].sort(), stale.map((s) => s.transaction_id).sort(), 'exactly the stale ones')

  const events = await outboxEvents(harness)
  t.equal(events.length, 60, 'one outbox row per expired transaction')
  t.equal(new Set(events.map((e) => e.payload.data.transaction_id)).size, 60)
  t.ok(events.every((e) => e.payload.data.status === 'failed'))
  const rows = await harness.app.db.selectFrom('transactions').select(['status', 'failure_reason']).where('transaction_id', '!=', fresh.transaction_id).execute()
  t.ok(rows.length === 60 && rows.every((r) => r.status === 'failed' && r.failure_reason === 'expired'), 'every stale one is failed/expired')
  t.equal((await findTransaction(harness, fresh.transaction_id))?.status, 'pending')
})

t.test('a sweep holding a transaction makes a webhook for it wait, then answer 409', async (t) => {
  const harness = await build(t, NO_TIMER)
  const other = await secondInstance(t, harness)
  const tx = await insertPending(harness, { recorded_at: minutesAgo(40) })

  const outbox = holdOutbox(other.db)
  await outbox.locked
  // the sweep claims and moves the row, then waits on the outbox with the row locked
  const sweep = expireStalePayments(harness.app.db, LIMIT)
  await waitFor('the sweep to wait on the outbox', async () => await waitingOnLock(other.db, /insert into "outbox"/i))
  const webhook = callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' })
  await waitFor('the webhook to wait on the row', async () => await waitingOnLock(other.db, /from "transactions" .*for update/i))
  outbox.release()
  await outbox.done

  t.equal((await sweep).length, 1, 'the sweep expired it')
  const res = await webhook
  t.equal(res.statusCode, 409, res.body)
  t.match(await findTransaction(harness, tx.transaction_id), { status: 'failed', failure_reason: 'expired' })
  t.match((await outboxEvents(harness)).map((e) => e.payload.data), [{ status: 'failed' }], 'one event: the expiry')
})

t.test('a webhook holding a transaction makes the sweep skip it; the next sweep leaves it settled', async (t) => {
  const harness = await build(t, NO_TIMER)
  const other = await secondInstance(t, harness)
  const tx = await insertPending(harness, { recorded_at: minutesAgo(40) })

  const outbox = holdOutbox(other.db)
  await outbox.locked
  const webhook = callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' })
  await waitFor('the webhook to wait on the outbox', async () => await waitingOnLock(other.db, /insert into "outbox"/i))
  t.same(await expireStalePayments(harness.app.db, LIMIT), [], 'the sweep skips the row the webhook holds (and does not wait for it)')
  outbox.release()
  await outbox.done

  const res = await webhook
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().changed, true)
  t.same(await expireStalePayments(harness.app.db, LIMIT), [], 'the next sweep finds it settled')
  t.match(await findTransaction(harness, tx.transaction_id), { status: 'success', failure_reason: null })
  t.match((await outboxEvents(harness)).map((e) => e.payload.data), [{ status: 'success' }], 'one event: the webhook\'s')
})

t.test('webhooks racing sweeps: every transaction ends in exactly one final status with one event', async (t) => {
  const harness = await build(t, NO_TIMER)
  const other = await secondInstance(t, harness)
  const txs = await Promise.all(Array.from({ length: 30 }, async () => await insertPending(harness, { recorded_at: minutesAgo(31) })))

  const [webhooks] = await Promise.all([
    Promise.all(txs.map(async (tx, i) => await callWebhook(harness, { transaction_id: tx.transaction_id, status: i % 3 === 0 ? 'failed' : 'success' }))),
    sweepStalePayments(other.db, { olderThanMinutes: 30, limit: 3 }),
    sweepStalePayments(harness.app.db, { olderThanMinutes: 30, limit: 5 })
  ])

  const events = await outboxEvents(harness)
  t.equal(events.length, 30, 'one event per transaction, whoever won')
  let expiredCount = 0
  for (const [i, tx] of txs.entries()) {
    const asked = i % 3 === 0 ? 'failed' : 'success'
    const res = webhooks[i]
    const row = await findTransaction(harness, tx.transaction_id)
    const mine = events.filter((e) => e.payload.data.transaction_id === tx.transaction_id)
    t.equal(mine.length, 1, `${tx.transaction_id.slice(0, 8)}: one event`)
    t.equal(mine[0]?.payload.data.status, row?.status, 'the event says the final status')
    if (row?.failure_reason === 'expired') {
      expiredCount++
      t.equal(row.status, 'failed')
      t.equal(mine[0]?.correlation_id, expiryCorrelationId(tx.transaction_id), 'the sweep\'s event')
      // the webhook came after the sweep: a success contradicts it, a failure agrees
      if (asked === 'success') t.equal(res?.statusCode, 409)
      else t.same(res?.json(), { transaction_id: tx.transaction_id, status: 'failed', changed: false })
    } else {
      t.equal(row?.status, asked, 'the webhook won')
      t.equal(res?.statusCode, 200)
      t.equal(res?.json().changed, true)
    }
  }
  t.comment(`${expiredCount} of 30 expired first, ${30 - expiredCount} settled by their webhook first`)
})

t.test('the app sweeps by itself: on its timer, one log line per expired transaction', async (t) => {
  // 0.01 minutes = 0.6 s: a transaction recorded now expires within a sweep or two
  const harness = await build(t, { PAYMENT_EXPIRY_MINUTES: '0.01', PAYMENT_EXPIRY_SWEEP_SECONDS: '1' })
  // opened by an OrderCreated whose correlation id is the top-up request's: the expiry joins that trace
  const tx = await insertPending(harness, { correlation_id: 'req-topup-expiring' })
  await waitFor('the timer to expire the transaction', async () => (await findTransaction(harness, tx.transaction_id))?.status === 'failed', 10_000)
  t.match(await findTransaction(harness, tx.transaction_id), { status: 'failed', failure_reason: 'expired' })
  await waitFor('the log line', () => harness.logs.entries().some((e) => e.msg === 'pending payment expired'))
  const lines = harness.logs.entries().filter((e) => e.msg === 'pending payment expired')
  t.equal(lines.length, 1, 'one line')
  t.match(lines[0], { level: 30, transactionId: tx.transaction_id, orderId: tx.order_id, correlation_id: 'req-topup-expiring' })
  const events = await outboxEvents(harness)
  t.equal(events.length, 1)
  t.equal(events[0]?.correlation_id, 'req-topup-expiring', 'its PaymentStatusChanged carries the order\'s trace')
  const metrics = await harness.app.inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /payments_settled_total\{status="failed",reason="expired",service="payments"\} 1/, 'counted as expired')
})

t.test('an instance with PAYMENT_EXPIRY_SWEEP_SECONDS=0 never sweeps', async (t) => {
  const harness = await build(t, { PAYMENT_EXPIRY_MINUTES: '0.001', ...NO_TIMER })
  const tx = await insertPending(harness, { recorded_at: minutesAgo(60) })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'pending')
  t.ok(harness.logs.entries().some((e) => e.msg === 'payment expiry sweep off on this instance (PAYMENT_EXPIRY_SWEEP_SECONDS=0)'))
})

t.test('expireStalePayments refuses nonsense limits', async (t) => {
  const harness = await build(t, NO_TIMER)
  await t.rejects(expireStalePayments(harness.app.db, { olderThanMinutes: 0, limit: 10 }), RangeError)
  await t.rejects(expireStalePayments(harness.app.db, { olderThanMinutes: 30, limit: 0 }), RangeError)
})
