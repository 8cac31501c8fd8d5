/**
 * Event lag: for every order of an intake run, the time from the client
 * receiving its 201 to payments and analytics applying its OrderCreated.
 *
 * Measured from row timestamps, not by polling: each consumer writes the
 * event's id into its inbox in the same transaction as its effect (payments'
 * transaction row, analytics' order row), with received_at = now(), the start
 * of that transaction (it commits a few ms later). The event id of each order
 * comes from orders' outbox. Lag = inbox.received_at − the client's clock at
 * the 201 (same machine, same clock). The event can reach a consumer before
 * the 201 has travelled back through the gateway: such a lag is negative,
 * counted as 0 and reported as "before the 201".
 *
 * "Never arrived": still not in the inbox `waitMs` after the run ended.
 */
import pg from 'pg'
import { waitFor } from '@topup/service-kit/testing'
import type { PlacedOrder } from './intake.js'
import { Latencies, type Latency } from './measure.js'
import { status } from './progress.js'

export interface ConsumerLag extends Latency {
  arrived: number
  missing: number
  /** Applied before the client had its 201 (counted as 0 ms). */
  beforeResponse: number
}

export interface LagResult {
  orders: number
  payments: ConsumerLag
  analytics: ConsumerLag
  /** How long after the run it took until every event was in (or the wait gave up). */
  drainedAfterMs: number
  method: string
}

export const LAG_METHOD = 'row timestamps: inbox.received_at (now() of the consumer transaction that writes the payments/analytics row) minus the client clock at the 201'

async function query<R extends pg.QueryResultRow> (url: string, text: string, values: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

export async function measureLag (options: { placed: PlacedOrder[], databaseUrls: { orders: string, payments: string, analytics: string }, waitMs: number, label: string }): Promise<LagResult> {
  const { placed, databaseUrls } = options
  const started = Date.now()
  const events = await query<{ event_id: string, order_id: string }>(databaseUrls.orders,
    `SELECT event_id::text AS event_id, payload->'data'->>'order_id' AS order_id FROM outbox
      WHERE type = 'OrderCreated' AND payload->'data'->>'order_id' = ANY($1::text[])`, [placed.map((o) => o.order_id)])
  const eventOf = new Map(events.map((e) => [e.order_id, e.event_id]))
  const ids = [...eventOf.values()]
  const count = async (url: string): Promise<number> => Number((await query<{ n: string }>(url, 'SELECT count(*) AS n FROM inbox WHERE event_id = ANY($1::uuid[])', [ids]))[0]?.n ?? 0)
  try {
    await waitFor('every OrderCreated in the payments and analytics inboxes', async () => {
      const [payments, analytics] = await Promise.all([count(databaseUrls.payments), count(databaseUrls.analytics)])
      status(`${options.label}: payments ${payments}/${ids.length}, analytics ${analytics}/${ids.length} events applied`)
      return payments >= ids.length && analytics >= ids.length
    }, options.waitMs, 250)
  } catch {
    // counted below as never arrived
  }
  const drainedAfterMs = Date.now() - started
  const lagOf = async (url: string): Promise<ConsumerLag> => {
    const rows = await query<{ event_id: string, at: string }>(url,
      'SELECT event_id::text AS event_id, (extract(epoch FROM received_at) * 1000)::float8 AS at FROM inbox WHERE event_id = ANY($1::uuid[])', [ids])
    const receivedAt = new Map(rows.map((r) => [r.event_id, Number(r.at)]))
    const latencies = new Latencies(0)
    let missing = 0
    let beforeResponse = 0
    for (const order of placed) {
      const id = eventOf.get(order.order_id)
      const at = id === undefined ? undefined : receivedAt.get(id)
      if (at === undefined) { missing++; continue }
      const lag = at - order.at
      if (lag < 0) beforeResponse++
      latencies.record(Math.max(0, lag))
    }
    return { ...latencies.summary(), arrived: placed.length - missing, missing, beforeResponse }
  }
  const [payments, analytics] = await Promise.all([lagOf(databaseUrls.payments), lagOf(databaseUrls.analytics)])
  return { orders: placed.length, payments, analytics, drainedAfterMs, method: LAG_METHOD }
}
