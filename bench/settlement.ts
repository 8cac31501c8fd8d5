/**
 * Settlement: one signed webhook (docs/DESIGN.md §2.2, signPayload of payments
 * itself) for every order of the intake run, through the gateway at
 * `connections`, with autocannon; then the time until orders shows every one
 * of them in its final status (polled in orders' own database).
 *
 * Baseline: the same transition straight at PostgreSQL with pg, at the same
 * concurrency, against a copy database with payments' own migrations and as
 * many pending transactions: what the webhook route runs
 * (services/payments/src/routes/webhook, db/transactions.ts settleTransaction,
 * events.ts, db/audit.ts), in the text kysely compiles it to: the row locked,
 * moved, its PaymentStatusChanged into the outbox (and the relay's NOTIFY),
 * the call recorded in webhook_calls, committed.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import autocannon from 'autocannon'
import { makeEvent, PaymentStatusChanged } from '@topup/contracts'
import { waitFor } from '@topup/service-kit/testing'
import { migrations as paymentsMigrations } from '../services/payments/dist/migrations/index.js'
import { signPayload } from '../services/payments/dist/src/signature.js'
import { INSERT_OUTBOX_AND_NOTIFY, migrateCopy, OUTBOX_CHANNEL } from './intake.js'
import type { PlacedOrder } from './intake.js'
import { closedLoop, nowMs, round, type ClosedLoopResult } from './measure.js'
import { status } from './progress.js'

/** Every fifth payment fails; the rest succeed. */
const outcomeOf = (i: number): 'success' | 'failed' => i % 5 === 4 ? 'failed' : 'success'

export interface SettlementResult {
  webhooks: number
  changed: number
  seconds: number
  perSecond: number
  p50: number
  p99: number
  errors: number
  statusCodes: Record<string, number>
  /** From the first webhook sent until orders showed every order final (null: not within the wait). */
  allFinalAfterStartMs: number | null
  /** From the last webhook answer until then. */
  allFinalAfterLastWebhookMs: number | null
  stillPending: number
}

export async function runSettlement (options: { gatewayUrl: string, secret: string, placed: PlacedOrder[], connections: number, ordersDatabaseUrl: string, waitMs: number, label: string }): Promise<SettlementResult> {
  const { placed } = options
  let next = 0
  let changed = 0
  let refused = 0
  const started = nowMs()
  const run = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: options.gatewayUrl,
      connections: Math.min(options.connections, placed.length),
      amount: placed.length,
      timeout: 10,
      requests: [{
        method: 'POST',
        path: '/api/payment/webhook/',
        setupRequest: (request) => {
          const i = next++
          const order = placed[i % placed.length]
          if (order === undefined) throw new Error('no orders to settle')
          const body = JSON.stringify({ transaction_id: order.transaction_id, status: outcomeOf(i) })
          const signature = signPayload(options.secret, body, Math.floor(Date.now() / 1000))
          return { ...request, headers: { 'content-type': 'application/json', 'x-topup-signature': signature }, body }
        },
        onResponse: (code, body) => {
          if (code === 200 && (JSON.parse(body) as { changed?: unknown }).changed === true) changed++
          else refused++
        }
      }]
    }, (err, result) => { if (err !== null) reject(err); else resolve(result) })
    instance.on('tick', () => { status(`${options.label}: ${changed + refused}/${placed.length} webhooks answered`) })
  })
  const lastAnswer = nowMs()
  const ids = placed.map((o) => o.order_id)
  const client = new pg.Client({ connectionString: options.ordersDatabaseUrl })
  await client.connect()
  let stillPending = ids.length
  let allFinal: number | null = null
  try {
    await waitFor('every settled order final in orders', async () => {
      const rows = await client.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = \'pending\'', [ids])
      stillPending = Number(rows.rows[0]?.n ?? ids.length)
      status(`${options.label}: ${ids.length - stillPending}/${ids.length} orders final in orders`)
      return stillPending === 0
    }, options.waitMs, 50)
    allFinal = nowMs()
  } catch {
    // reported as still pending
  } finally {
    await client.end()
  }
  const statusCodes = Object.fromEntries(Object.entries(run.statusCodeStats).map(([code, { count }]) => [code, Number(count)]))
  return {
    webhooks: changed + refused,
    changed,
    seconds: run.duration,
    perSecond: round(changed / run.duration, 1),
    p50: run.latency.p50,
    p99: run.latency.p99,
    errors: refused + run.errors + run.timeouts,
    statusCodes,
    allFinalAfterStartMs: allFinal === null ? null : Math.round(allFinal - started),
    allFinalAfterLastWebhookMs: allFinal === null ? null : Math.round(allFinal - lastAnswer),
    stillPending
  }
}

// ---------------------------------------------------------------------------
// Baseline

const LOCK = 'select * from "transactions" where "transaction_id" = $1 for update'
const MOVE = 'update "transactions" set "status" = $1, "updated_at" = $2 where "transaction_id" = $3 returning *'
const AUDIT = 'insert into "webhook_calls" ("request_id", "remote_address", "signature_valid", "transaction_id", "requested_status", "response_status", "outcome", "body") values ($1, $2, $3, $4, $5, $6, $7, $8)'

interface TransactionRow { transaction_id: string, order_id: string, status: string, amount: string, currency: string, updated_at: Date }

/** The baseline's database: payments' migrations and `count` pending transactions; returns their ids. */
export async function preparePaymentsCopy (copyUrl: string, count: number): Promise<string[]> {
  await migrateCopy(copyUrl, paymentsMigrations)
  const client = new pg.Client({ connectionString: copyUrl })
  await client.connect()
  try {
    const rows = await client.query<{ transaction_id: string }>(
      `INSERT INTO transactions (transaction_id, order_id, user_id, amount, currency, status, provider, created_at, updated_at)
       SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 699.00, 'INR', 'pending', 'sandbox', now(), now()
         FROM generate_series(1, $1::int) RETURNING transaction_id::text`, [count])
    return rows.rows.map((r) => r.transaction_id)
  } finally {
    await client.end()
  }
}

async function settleDirectly (pool: pg.Pool, transactionId: string, target: 'success' | 'failed'): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('begin')
    const locked = await client.query<TransactionRow>(LOCK, [transactionId])
    const row = locked.rows[0]
    if (row === undefined || row.status !== 'pending') throw new Error(`transaction ${transactionId} is not pending in the copy`)
    const moved = await client.query<TransactionRow>(MOVE, [target, new Date(), transactionId])
    const now = moved.rows[0]
    if (now === undefined) throw new Error('update returned nothing')
    const event = makeEvent(PaymentStatusChanged, {
      transaction_id: now.transaction_id, order_id: now.order_id, status: target, previous_status: 'pending',
      amount: now.amount, currency: now.currency, provider: 'sandbox', changed_at: now.updated_at.toISOString()
    }, { correlationId: randomUUID(), occurredAt: now.updated_at })
    await client.query(INSERT_OUTBOX_AND_NOTIFY, [event.id, event.type, event.version, PaymentStatusChanged.routingKey, event.correlation_id, JSON.stringify(event), null, OUTBOX_CHANNEL])
    const body = JSON.stringify({ transaction_id: transactionId, status: target })
    await client.query(AUDIT, [randomUUID(), '127.0.0.1', true, transactionId, target, 200, `pending → ${target}`, body])
    await client.query('commit')
  } catch (err) {
    await client.query('rollback').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

export async function settlementBaseline (options: { copyUrl: string, transactionIds: string[], connections: number, label: string }): Promise<ClosedLoopResult> {
  const pool = new pg.Pool({ connectionString: options.copyUrl, max: options.connections })
  try {
    return await closedLoop({
      concurrency: options.connections,
      count: options.transactionIds.length,
      operation: async (i) => {
        const id = options.transactionIds[i]
        if (id === undefined) throw new Error('no transaction left')
        await settleDirectly(pool, id, outcomeOf(i))
      },
      onProgress: (done) => { status(`${options.label}: ${done}/${options.transactionIds.length} transitions`) }
    })
  } finally {
    await pool.end()
  }
}
