/**
 * Dashboard: GET /api/analytics/summary/ for the last 30 days, one request at
 * a time (a staff member's browser), against one analytics process per size
 * of the read model, the sizes sampled in turn; beside its baseline: the same
 * figures computed by scanning the order rows (order_facts), sampled in turn
 * the same way. The two answers are compared too: the summary over the
 * aggregates must equal the scan.
 */
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from '../services/analytics/dist/src/db/schema.js'
import { Latencies, nowMs, type Latency } from './measure.js'
import { status } from './progress.js'

export interface Range { start: string, end: string }

/** The figures of the summary the scan recomputes (docs/DESIGN.md §5), in the summary's JSON shape. */
export interface Figures {
  totals: { revenue: string, orders: number, successful_orders: number, failed_orders: number }
  daily_revenue: Array<{ date: string, revenue: string, orders: number, successful_orders: number }>
  revenue_by_game: Array<{ game_id: number, game_name: string, revenue: string, orders: number, successful_orders: number }>
  top_products: Array<{ product_id: number, product_name: string, game_name: string, successful_orders: number, revenue: string }>
  top_users: Array<{ user_id: string, user_email: string, orders: number }>
  failed_payments: { this_month: { month: string, count: number }, by_month: Array<{ month: string, count: number }> }
}

export interface Sampled { latency: Latency, samples: number, answer: Figures | null }

const DAY_MS = 86_400_000

/** The last `days` days, today (UTC) included. */
export function lastDays (days: number, today = new Date()): Range {
  const end = today.toISOString().slice(0, 10)
  const start = new Date(Date.parse(`${end}T00:00:00Z`) - (days - 1) * DAY_MS).toISOString().slice(0, 10)
  return { start, end }
}

/** One thing to sample: a call that returns the figures. */
export interface Target { label: string, once: () => Promise<Figures> }

/**
 * Samples every target in turn, round robin (one call of each, then again),
 * for `seconds` in all, at least `minSamples` and at most `maxSamples` calls
 * per target, after `warmup` unmeasured calls of each. Interleaved, so a
 * burst of someone else's load lands on every target alike: the ratio
 * between targets (10 M against 100 k orders) holds on a busy machine.
 */
export async function sampleInTurn (what: string, targets: Target[], limits: { seconds: number, minSamples: number, maxSamples: number, warmup: number }): Promise<Sampled[]> {
  for (const target of targets) for (let i = 0; i < limits.warmup; i++) await target.once()
  const latencies = targets.map(() => new Latencies())
  const last: Array<Figures | null> = targets.map(() => null)
  const deadline = nowMs() + limits.seconds * 1000
  const wanted = (i: number): boolean => {
    const n = latencies[i]?.count ?? 0
    return n < limits.maxSamples && (n < limits.minSamples || nowMs() < deadline)
  }
  while (targets.some((_, i) => wanted(i))) {
    for (const [i, target] of targets.entries()) {
      if (!wanted(i)) continue
      const t0 = nowMs()
      last[i] = await target.once()
      latencies[i]?.record(nowMs() - t0)
    }
    status(`${what}: ${targets.map((t, i) => `${t.label} ${latencies[i]?.count ?? 0}`).join(', ')} samples`)
  }
  return targets.map((_, i) => ({ latency: (latencies[i] ?? new Latencies()).summary(), samples: latencies[i]?.count ?? 0, answer: last[i] ?? null }))
}

/** GET /api/analytics/summary/ for the range at `baseUrl` (a service or the gateway), as staff. */
export function summaryCall (baseUrl: string, token: () => string, range: Range): () => Promise<Figures> {
  const url = `${baseUrl}/api/analytics/summary/?start_date=${range.start}&end_date=${range.end}`
  return async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token()}` }, signal: AbortSignal.timeout(30_000) })
    const body = await res.text()
    if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${body.slice(0, 300)}`)
    return JSON.parse(body) as Figures
  }
}

/**
 * Every figure of the summary from the order rows of the range: what the read
 * model spares the dashboard. One statement that reads the range's rows once
 * (a MATERIALIZED CTE) and computes each figure from them: the strongest form
 * of "scan the orders" (the original system ran one query per figure, each
 * reading the rows again), so the ratio against it is not flattered. The same
 * rules as the summary: UTC days, ties broken by name in byte order, names
 * from the newest order.
 */
export async function scanFigures (client: pg.Client, range: Range, today: string): Promise<Figures> {
  const rows = await client.query<Figures & { this_month: number }>(`
    WITH o AS MATERIALIZED (
      SELECT (created_at AT TIME ZONE 'UTC')::date AS day, created_at, status, amount,
             game_id, game_name, product_id, product_name, user_id, user_email
        FROM order_facts
       WHERE created_at >= $1::date::timestamp AT TIME ZONE 'UTC' AND created_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'
    )
    SELECT
      (SELECT json_build_object(
                'revenue', coalesce(sum(amount) FILTER (WHERE status = 'success'), 0)::numeric(18,2)::text,
                'orders', count(*), 'successful_orders', count(*) FILTER (WHERE status = 'success'),
                'failed_orders', count(*) FILTER (WHERE status = 'failed'))
         FROM o) AS totals,
      (SELECT json_agg(json_build_object('date', to_char(d.day, 'YYYY-MM-DD'), 'revenue', coalesce(x.revenue, 0)::numeric(18,2)::text,
                                         'orders', coalesce(x.orders, 0), 'successful_orders', coalesce(x.successful, 0)) ORDER BY d.day)
         FROM generate_series($1::date, $2::date, interval '1 day') AS d(day)
         LEFT JOIN (SELECT day, sum(amount) FILTER (WHERE status = 'success') AS revenue, count(*) AS orders,
                           count(*) FILTER (WHERE status = 'success') AS successful
                      FROM o GROUP BY day) x ON x.day = d.day::date) AS daily_revenue,
      (SELECT coalesce(json_agg(json_build_object('game_id', g.game_id, 'game_name', g.game_name, 'revenue', g.revenue::numeric(18,2)::text,
                                                  'orders', g.orders, 'successful_orders', g.successful)
                                ORDER BY g.revenue DESC, g.game_name COLLATE "C", g.game_id), '[]')
         FROM (SELECT game_id, (array_agg(game_name ORDER BY created_at DESC, game_name DESC, product_name DESC))[1] AS game_name,
                      coalesce(sum(amount) FILTER (WHERE status = 'success'), 0) AS revenue, count(*) AS orders,
                      count(*) FILTER (WHERE status = 'success') AS successful
                 FROM o GROUP BY game_id) g) AS revenue_by_game,
      (SELECT coalesce(json_agg(json_build_object('product_id', p.product_id, 'product_name', p.product_name, 'game_name', p.game_name,
                                                  'successful_orders', p.successful, 'revenue', p.revenue::numeric(18,2)::text)
                                ORDER BY p.successful DESC, p.product_name COLLATE "C", p.product_id), '[]')
         FROM (SELECT * FROM (
                 SELECT product_id,
                        (array_agg(product_name ORDER BY created_at DESC, game_name DESC, product_name DESC))[1] AS product_name,
                        (array_agg(game_name ORDER BY created_at DESC, game_name DESC, product_name DESC))[1] AS game_name,
                        count(*) FILTER (WHERE status = 'success') AS successful,
                        coalesce(sum(amount) FILTER (WHERE status = 'success'), 0) AS revenue
                   FROM o GROUP BY product_id HAVING count(*) FILTER (WHERE status = 'success') > 0) p0
                ORDER BY p0.successful DESC, p0.product_name COLLATE "C", p0.product_id LIMIT 5) p) AS top_products,
      (SELECT coalesce(json_agg(json_build_object('user_id', u.user_id::text, 'user_email', u.user_email, 'orders', u.orders)
                                ORDER BY u.orders DESC, u.user_email COLLATE "C", u.user_id), '[]')
         FROM (SELECT * FROM (
                 SELECT user_id, (array_agg(user_email ORDER BY created_at DESC, user_email DESC))[1] AS user_email, count(*) AS orders
                   FROM o GROUP BY user_id) u0
                ORDER BY u0.orders DESC, u0.user_email COLLATE "C", u0.user_id LIMIT 5) u) AS top_users,
      (SELECT json_agg(json_build_object('month', to_char(m.month, 'YYYY-MM'), 'count', coalesce(f.count, 0)) ORDER BY m.month)
         FROM generate_series(date_trunc('month', $1::date), date_trunc('month', $2::date), interval '1 month') AS m(month)
         LEFT JOIN (SELECT date_trunc('month', day) AS month, count(*) AS count FROM o WHERE status = 'failed' GROUP BY 1) f
           ON f.month = m.month) AS by_month,
      (SELECT count(*) FROM order_facts
        WHERE status = 'failed'
          AND created_at >= date_trunc('month', $3::date)::timestamp AT TIME ZONE 'UTC'
          AND created_at < (date_trunc('month', $3::date) + interval '1 month')::timestamp AT TIME ZONE 'UTC') AS this_month`,
  [range.start, range.end, today])
  const row = rows.rows[0] as unknown as Omit<Figures, 'failed_payments'> & { by_month: Figures['failed_payments']['by_month'], this_month: string | number } | undefined
  if (row === undefined) throw new Error('the scan returned no row')
  return {
    totals: row.totals,
    daily_revenue: row.daily_revenue,
    revenue_by_game: row.revenue_by_game,
    top_products: row.top_products,
    top_users: row.top_users,
    failed_payments: { this_month: { month: today.slice(0, 7), count: Number(row.this_month) }, by_month: row.by_month }
  }
}

/** The figures the scan recomputes, taken from a summary answer (which has more). */
function comparable (f: Figures): Figures {
  return {
    totals: { revenue: f.totals.revenue, orders: f.totals.orders, successful_orders: f.totals.successful_orders, failed_orders: f.totals.failed_orders },
    daily_revenue: f.daily_revenue.map(({ date, revenue, orders, successful_orders: s }) => ({ date, revenue, orders, successful_orders: s })),
    revenue_by_game: f.revenue_by_game.map(({ game_id: id, game_name: name, revenue, orders, successful_orders: s }) => ({ game_id: id, game_name: name, revenue, orders, successful_orders: s })),
    top_products: f.top_products.map(({ product_id: id, product_name: name, game_name: game, successful_orders: s, revenue }) => ({ product_id: id, product_name: name, game_name: game, successful_orders: s, revenue })),
    top_users: f.top_users.map(({ user_id: id, user_email: email, orders }) => ({ user_id: id, user_email: email, orders })),
    failed_payments: {
      this_month: { month: f.failed_payments.this_month.month, count: f.failed_payments.this_month.count },
      by_month: f.failed_payments.by_month.map(({ month, count }) => ({ month, count }))
    }
  }
}

/** The first figure where the summary and the scan disagree, or null when they agree on every one. */
export function difference (summary: Figures, scan: Figures): string | null {
  const a = comparable(summary)
  const b = comparable(scan)
  for (const key of Object.keys(a) as Array<keyof Figures>) {
    const left = JSON.stringify(a[key])
    const right = JSON.stringify(b[key])
    if (left !== right) return `${key}: summary ${left.slice(0, 200)} ≠ scan ${right.slice(0, 200)}`
  }
  return null
}

/**
 * How analytics answers "most active users" for this range right now: from
 * its block lists, or by its fallback sum over daily_user_stats (its
 * readTopUsers says which; a dynamic import, as the structure is new).
 * 'unknown' when the build has no such function.
 */
export async function topUsersAnsweredBy (databaseUrl: string, range: Range): Promise<'lists' | 'scan' | 'unknown'> {
  let module: { readTopUsers?: (trx: Kysely<Database>, range: Range) => Promise<{ answeredBy: 'lists' | 'scan' }> }
  try {
    module = await import('../services/analytics/dist/src/db/top-users.js')
  } catch {
    return 'unknown'
  }
  const read = module.readTopUsers
  if (typeof read !== 'function') return 'unknown'
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }) })
  try {
    return await db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => (await read(trx, range)).answeredBy)
  } finally {
    await db.destroy()
  }
}
