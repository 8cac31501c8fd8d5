/**
 * What must hold after the chaos, read from each service's own database
 * (the tables of services/<name>/migrations), compared with what the clients
 * were told and with the dashboard's figures. Each check counts the items it
 * looked at and the mismatches, with a few examples of each mismatch.
 */
import pg from 'pg'
import type { LoadStats, OrderRecord } from './load.js'

export interface Check {
  name: string
  checked: number
  mismatches: number
  examples: string[]
}

class CheckBuilder {
  checked = 0
  readonly examples: string[] = []
  mismatches = 0
  constructor (readonly name: string) {}
  /** Counts one item; a false `ok` is a mismatch described by `why`. */
  expect (ok: boolean, why: () => string): void {
    this.checked++
    if (ok) return
    this.mismatches++
    if (this.examples.length < 5) this.examples.push(why())
  }

  /** A mismatch found outside the items counted (e.g. a contradicting answer). */
  fail (why: string): void {
    this.mismatches++
    if (this.examples.length < 5) this.examples.push(why)
  }

  done (): Check { return { name: this.name, checked: this.checked, mismatches: this.mismatches, examples: this.examples } }
}

export function check (name: string, fill: (c: CheckBuilder) => void): Check {
  const builder = new CheckBuilder(name)
  fill(builder)
  return builder.done()
}

/** Money as integer cents (every amount has two places). */
export function cents (amount: string | null | undefined): bigint {
  if (amount === null || amount === undefined) return 0n
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(amount)
  if (match === null) throw new Error(`not an amount: ${amount}`)
  const value = BigInt(match[2] as string) * 100n + BigInt((match[3] ?? '').padEnd(2, '0'))
  return match[1] === '-' ? -value : value
}

export const money = (value: bigint): string => `${value / 100n}.${(value % 100n).toString().padStart(2, '0')}`

async function query<R extends Record<string, unknown>> (url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(sql)).rows
  } finally {
    await client.end()
  }
}

interface OrderRow { id: string, transaction_id: string, user_id: string, amount: string, status: string, game_id: number, product_id: number, day: string, [k: string]: unknown }
interface TransactionRow { transaction_id: string, order_id: string, user_id: string, amount: string, status: string, [k: string]: unknown }
interface FactRow { order_id: string, transaction_id: string, user_id: string | null, amount: string | null, status: string, game_id: number | null, product_id: number | null, complete: boolean, [k: string]: unknown }
interface EventRow { event_id: string, type: string, ref: string | null, unsent: boolean, [k: string]: unknown }
interface InboxRow { event_id: string, type: string, [k: string]: unknown }
interface DailyRow { day: string, game_id: number, product_id: number, orders: number, success_orders: number, failed_orders: number, revenue: string, [k: string]: unknown }
interface UserDayRow { day: string, user_id: string, orders: number, [k: string]: unknown }
interface KeyRow { key: string, order_id: string | null, [k: string]: unknown }
interface SettlementRow { transaction_id: string, moves: number, [k: string]: unknown }

export interface Snapshot {
  orders: OrderRow[]
  keys: KeyRow[]
  ordersOutbox: EventRow[]
  ordersInbox: InboxRow[]
  transactions: TransactionRow[]
  paymentsOutbox: EventRow[]
  paymentsInbox: InboxRow[]
  settlements: SettlementRow[]
  facts: FactRow[]
  analyticsInbox: InboxRow[]
  daily: DailyRow[]
  userDays: UserDayRow[]
}

export interface Databases { orders: string, payments: string, analytics: string }

export async function snapshot (db: Databases): Promise<Snapshot> {
  const day = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
  const [orders, keys, ordersOutbox, ordersInbox, transactions, paymentsOutbox, paymentsInbox, settlements, facts, analyticsInbox, daily, userDays] = await Promise.all([
    query<OrderRow>(db.orders, `SELECT id, transaction_id, user_id, amount::text AS amount, status, game_id, product_id, ${day('created_at')} AS day FROM orders`),
    query<KeyRow>(db.orders, 'SELECT key, response_body->>\'order_id\' AS order_id FROM idempotency_keys'),
    query<EventRow>(db.orders, 'SELECT event_id, type, payload->\'data\'->>\'order_id\' AS ref, sent_at IS NULL AS unsent FROM outbox'),
    query<InboxRow>(db.orders, 'SELECT event_id, type FROM inbox'),
    query<TransactionRow>(db.payments, 'SELECT transaction_id, order_id, user_id, amount::text AS amount, status FROM transactions'),
    query<EventRow>(db.payments, 'SELECT event_id, type, payload->\'data\'->>\'transaction_id\' AS ref, sent_at IS NULL AS unsent FROM outbox'),
    query<InboxRow>(db.payments, 'SELECT event_id, type FROM inbox'),
    // every webhook that moved a transaction (outcome "pending → success|failed")
    query<SettlementRow>(db.payments, 'SELECT transaction_id, count(*)::int AS moves FROM webhook_calls WHERE outcome LIKE \'pending → %\' GROUP BY transaction_id'),
    query<FactRow>(db.analytics, 'SELECT order_id, transaction_id, user_id, amount::text AS amount, status, game_id, product_id, created_at IS NOT NULL AS complete FROM order_facts'),
    query<InboxRow>(db.analytics, 'SELECT event_id, type FROM inbox'),
    query<DailyRow>(db.analytics, 'SELECT to_char(day, \'YYYY-MM-DD\') AS day, game_id, product_id, orders, success_orders, failed_orders, revenue::text AS revenue FROM daily_game_product_stats'),
    query<UserDayRow>(db.analytics, 'SELECT to_char(day, \'YYYY-MM-DD\') AS day, user_id, orders FROM daily_user_stats')
  ])
  return { orders, keys, ordersOutbox, ordersInbox, transactions, paymentsOutbox, paymentsInbox, settlements, facts, analyticsInbox, daily, userDays }
}

/** Rows still to publish and events consumed so far: the drain waits until these stop changing. */
export async function progress (db: Databases): Promise<{ unsent: number, consumed: number }> {
  const [o, p, oi, pi, ai] = await Promise.all([
    query<{ n: number }>(db.orders, 'SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL'),
    query<{ n: number }>(db.payments, 'SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL'),
    query<{ n: number }>(db.orders, 'SELECT count(*)::int AS n FROM inbox'),
    query<{ n: number }>(db.payments, 'SELECT count(*)::int AS n FROM inbox'),
    query<{ n: number }>(db.analytics, 'SELECT count(*)::int AS n FROM inbox')
  ])
  const n = (rows: Array<{ n: number }>): number => rows[0]?.n ?? 0
  return { unsent: n(o) + n(p), consumed: n(oi) + n(pi) + n(ai) }
}

/**
 * Settled transactions without the audit row of the webhook that settled them
 * (payments writes `webhook_calls` after the settlement commits: a process
 * killed in between loses the row). Reported, not counted as a mismatch.
 */
export function auditGaps (s: Snapshot): string[] {
  const moved = new Set(s.settlements.map((m) => m.transaction_id))
  return s.transactions.filter((t) => t.status !== 'pending' && !moved.has(t.transaction_id)).map((t) => t.transaction_id)
}

export interface SummaryTotals { revenue: string, orders: number, successful_orders: number, failed_orders: number, pending_orders: number }
export interface GameRevenue { game_id: number, revenue: string, orders: number, successful_orders: number }

function countBy<T> (items: readonly T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>()
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1)
  return out
}

/** The consistency checks over the databases and what the clients saw. */
export function consistencyChecks (s: Snapshot, records: readonly OrderRecord[], stats: LoadStats, midBodyKeys: readonly string[]): Check[] {
  const orders = new Map(s.orders.map((o) => [o.id, o]))
  const transactions = new Map(s.transactions.map((t) => [t.transaction_id, t]))
  const transactionsByOrder = countBy(s.transactions, (t) => t.order_id)
  const facts = new Map(s.facts.map((f) => [f.order_id, f]))
  const created = records.filter((r) => r.orderId !== undefined)
  const settled = created.filter((r) => r.settled !== undefined)
  const checks: Check[] = []

  checks.push(check('every 201 order is in orders (same transaction, user)', (c) => {
    for (const r of created) {
      const row = orders.get(r.orderId ?? '')
      c.expect(row !== undefined && row.transaction_id === r.transactionId && row.user_id === r.player.id && cents(row.amount) === cents(r.product.price),
        () => `order ${r.orderId ?? '?'} (key ${r.key}): ${row === undefined ? 'missing' : JSON.stringify(row)}`)
    }
  }))

  checks.push(check('one order per Idempotency-Key; cut bodies created nothing', (c) => {
    const byKey = new Map(s.keys.map((k) => [k.key, k]))
    for (const r of created) {
      const key = byKey.get(r.key)
      c.expect(key !== undefined && key.order_id === r.orderId, () => `key ${r.key}: stored ${key?.order_id ?? 'nothing'}, client got ${r.orderId ?? '?'}`)
    }
    const keyed = new Set(s.keys.map((k) => k.order_id))
    const unkeyed = s.orders.filter((o) => !keyed.has(o.id))
    c.expect(unkeyed.length === 0, () => `${unkeyed.length} orders without the Idempotency-Key that created them`)
    const cut = new Set(midBodyKeys)
    const fromCut = s.keys.filter((k) => cut.has(k.key))
    c.expect(fromCut.length === 0, () => `${fromCut.length} half-sent requests created an order: ${fromCut.slice(0, 3).map((k) => k.key).join(', ')}`)
  }))

  checks.push(check('every order is in payments once (order, user, amount)', (c) => {
    for (const o of s.orders) {
      const t = transactions.get(o.transaction_id)
      c.expect(t !== undefined && t.order_id === o.id && t.user_id === o.user_id && cents(t.amount) === cents(o.amount) && transactionsByOrder.get(o.id) === 1,
        () => `order ${o.id}: transaction ${t === undefined ? 'missing' : JSON.stringify(t)} (${transactionsByOrder.get(o.id) ?? 0} rows)`)
    }
    const extra = s.transactions.filter((t) => !orders.has(t.order_id))
    c.expect(extra.length === 0, () => `${extra.length} transactions of no order, e.g. ${extra[0]?.transaction_id ?? ''}`)
  }))

  checks.push(check('every order is in analytics once, complete', (c) => {
    for (const o of s.orders) {
      const f = facts.get(o.id)
      c.expect(f !== undefined && f.complete && f.transaction_id === o.transaction_id && f.user_id === o.user_id && cents(f.amount) === cents(o.amount) &&
        f.game_id === o.game_id && f.product_id === o.product_id, () => `order ${o.id}: read model ${f === undefined ? 'missing' : JSON.stringify(f)}`)
    }
    const extra = s.facts.filter((f) => !orders.has(f.order_id))
    c.expect(extra.length === 0, () => `${extra.length} read-model rows of no order, e.g. ${extra[0]?.order_id ?? ''}`)
  }))

  checks.push(check('every webhook 200 is reflected in payments, orders, analytics', (c) => {
    for (const r of settled) {
      const o = orders.get(r.orderId ?? '')
      const t = transactions.get(r.transactionId ?? '')
      const f = facts.get(r.orderId ?? '')
      c.expect(o?.status === r.intended && t?.status === r.intended && f?.status === r.intended,
        () => `${r.transactionId ?? '?'} paid ${r.intended}: orders ${o?.status ?? 'missing'}, payments ${t?.status ?? 'missing'}, analytics ${f?.status ?? 'missing'}`)
    }
    const unsettled = created.filter((r) => r.settled === undefined)
    c.expect(unsettled.length === 0, () => `${unsettled.length} orders with a 201 whose webhook never got a 200 (e.g. ${unsettled[0]?.transactionId ?? ''})`)
  }))

  checks.push(check('the same status in orders, payments and analytics', (c) => {
    for (const o of s.orders) {
      const t = transactions.get(o.transaction_id)
      const f = facts.get(o.id)
      c.expect(t?.status === o.status && f?.status === o.status, () => `order ${o.id}: orders ${o.status}, payments ${t?.status ?? 'missing'}, analytics ${f?.status ?? 'missing'}`)
    }
  }))

  checks.push(check('nothing applied twice (outbox, inbox, webhook moves)', (c) => {
    const created = countBy(s.ordersOutbox.filter((e) => e.type === 'OrderCreated'), (e) => e.ref ?? '')
    for (const o of s.orders) c.expect(created.get(o.id) === 1, () => `order ${o.id}: ${created.get(o.id) ?? 0} OrderCreated events`)
    const changed = countBy(s.paymentsOutbox.filter((e) => e.type === 'PaymentStatusChanged'), (e) => e.ref ?? '')
    const moves = new Map(s.settlements.map((m) => [m.transaction_id, m.moves]))
    for (const t of s.transactions) {
      const expected = t.status === 'pending' ? 0 : 1
      // (0 audited moves of a settled transaction is a gap in the audit, not a double application: see auditGaps)
      c.expect((changed.get(t.transaction_id) ?? 0) === expected && (moves.get(t.transaction_id) ?? 0) <= expected,
        () => `transaction ${t.transaction_id} (${t.status}): ${changed.get(t.transaction_id) ?? 0} PaymentStatusChanged, ${moves.get(t.transaction_id) ?? 0} webhooks that moved it`)
    }
    // every event consumed exactly once by each consumer, and nothing else consumed
    const expectIn = (inbox: InboxRow[], events: EventRow[], who: string): void => {
      const seen = new Set(inbox.map((i) => i.event_id))
      const missing = events.filter((e) => !seen.has(e.event_id))
      const sent = new Set(events.map((e) => e.event_id))
      const foreign = inbox.filter((i) => !sent.has(i.event_id))
      c.expect(missing.length === 0, () => `${who}: ${missing.length} events never applied (e.g. ${missing[0]?.type ?? ''} ${missing[0]?.event_id ?? ''})`)
      c.expect(foreign.length === 0, () => `${who}: ${foreign.length} applied events nobody published (e.g. ${foreign[0]?.event_id ?? ''})`)
    }
    const orderCreated = s.ordersOutbox.filter((e) => e.type === 'OrderCreated')
    const paymentChanged = s.paymentsOutbox.filter((e) => e.type === 'PaymentStatusChanged')
    expectIn(s.paymentsInbox, orderCreated, 'payments inbox (OrderCreated)')
    expectIn(s.ordersInbox, paymentChanged, 'orders inbox (PaymentStatusChanged)')
    expectIn(s.analyticsInbox, [...orderCreated, ...paymentChanged], 'analytics inbox (both)')
    const unsent = [...s.ordersOutbox, ...s.paymentsOutbox].filter((e) => e.unsent)
    c.expect(unsent.length === 0, () => `${unsent.length} outbox rows never published`)
  }))

  checks.push(check('daily aggregates = orders recomputed (no order counted twice)', (c) => {
    interface Agg { orders: number, success: number, failed: number, revenue: bigint }
    const expected = new Map<string, Agg>()
    for (const o of s.orders) {
      const k = `${o.day}/${o.game_id}/${o.product_id}`
      const a = expected.get(k) ?? { orders: 0, success: 0, failed: 0, revenue: 0n }
      a.orders++
      if (o.status === 'success') { a.success++; a.revenue += cents(o.amount) }
      if (o.status === 'failed') a.failed++
      expected.set(k, a)
    }
    const actual = new Map(s.daily.map((d) => [`${d.day}/${d.game_id}/${d.product_id}`, d]))
    for (const [k, a] of expected) {
      const d = actual.get(k)
      c.expect(d !== undefined && d.orders === a.orders && d.success_orders === a.success && d.failed_orders === a.failed && cents(d.revenue) === a.revenue,
        () => `${k}: expected ${a.orders} orders, ${a.success} ok, ${a.failed} failed, ${money(a.revenue)}; analytics ${d === undefined ? 'nothing' : `${d.orders}, ${d.success_orders}, ${d.failed_orders}, ${d.revenue}`}`)
    }
    const extra = [...actual.keys()].filter((k) => !expected.has(k) && (actual.get(k)?.orders ?? 0) > 0)
    c.expect(extra.length === 0, () => `aggregates for days/products without orders: ${extra.slice(0, 3).join(', ')}`)
    const perUser = countBy(s.orders, (o) => `${o.day}/${o.user_id}`)
    const userDays = new Map(s.userDays.map((u) => [`${u.day}/${u.user_id}`, u.orders]))
    for (const [k, n] of perUser) c.expect(userDays.get(k) === n, () => `user-day ${k}: ${n} orders, analytics says ${userDays.get(k) ?? 0}`)
    const userExtra = [...userDays].filter(([k, n]) => !perUser.has(k) && n > 0)
    c.expect(userExtra.length === 0, () => `user-day counts without orders: ${userExtra.slice(0, 3).map(([k]) => k).join(', ')}`)
  }))

  checks.push(check('answers as the contract says (top-ups; repeats 200 unchanged; the other status 409)', (c) => {
    // every top-up and every extra webhook was looked at; each contradiction is one mismatch
    c.checked += records.length + stats.duplicates.sent + stats.opposites.sent + stats.concurrentPairs.sent
    for (const problem of stats.problems) c.fail(problem)
  }))

  return checks
}

/** The dashboard's totals (GET /api/analytics/summary/) against orders and payments recomputed. */
export function dashboardCheck (s: Snapshot, totals: SummaryTotals | undefined, byGame: GameRevenue[] | undefined, why: string): Check {
  return check('dashboard totals = orders = payments', (c) => {
    if (totals === undefined || byGame === undefined) { c.expect(false, () => `no summary: ${why}`); return }
    const recompute = (rows: Array<{ status: string, amount: string }>): SummaryTotals => ({
      revenue: money(rows.filter((r) => r.status === 'success').reduce((sum, r) => sum + cents(r.amount), 0n)),
      orders: rows.length,
      successful_orders: rows.filter((r) => r.status === 'success').length,
      failed_orders: rows.filter((r) => r.status === 'failed').length,
      pending_orders: rows.filter((r) => r.status === 'pending').length
    })
    const fromOrders = recompute(s.orders)
    const fromPayments = recompute(s.transactions)
    for (const field of ['revenue', 'orders', 'successful_orders', 'failed_orders', 'pending_orders'] as const) {
      c.expect(String(totals[field]) === String(fromOrders[field]) && String(fromPayments[field]) === String(fromOrders[field]),
        () => `${field}: dashboard ${totals[field]}, orders ${fromOrders[field]}, payments ${fromPayments[field]}`)
    }
    const games = new Map<number, bigint>()
    for (const o of s.orders) if (o.status === 'success') games.set(o.game_id, (games.get(o.game_id) ?? 0n) + cents(o.amount))
    for (const [game, revenue] of games) {
      const row = byGame.find((g) => g.game_id === game)
      c.expect(row !== undefined && cents(row.revenue) === revenue, () => `game ${game}: dashboard ${row?.revenue ?? 'nothing'}, orders ${money(revenue)}`)
    }
  })
}
