import { sql, type Kysely } from 'kysely'
import { monthsOf, previousPeriod, type DateRange } from '../dates.js'
import type { Database } from './schema.js'
import { readTopUsers, TOP_N } from './top-users.js'

export interface Totals {
  revenue: string
  orders: number
  successful_orders: number
  failed_orders: number
  pending_orders: number
  /** successful / all orders of the range, in percent with two places; null without orders */
  success_rate: string | null
  /** revenue / successful orders, two places rounded half up; null without successful orders */
  average_order_value: string | null
}

export interface Summary {
  start_date: string
  end_date: string
  currency: string
  /** the business time zone whose days the range, the days and the months are in */
  timezone: string
  /** today in that zone (the presets end on it) */
  today: string
  totals: Totals
  /** the period of the same length just before the range */
  previous: { start_date: string, end_date: string, totals: Totals }
  /** against the previous period: percent with two places, signed; null where the previous figure is 0 (or absent) */
  change: {
    revenue: string | null
    orders: string | null
    successful_orders: string | null
    average_order_value: string | null
    /** the difference in percentage points (not a percent of a percent) */
    success_rate_points: string | null
  }
  daily_revenue: Array<{ date: string, revenue: string, orders: number, successful_orders: number }>
  revenue_by_game: Array<{ game_id: number, game_name: string, revenue: string, orders: number, successful_orders: number }>
  top_products: Array<{ product_id: number, product_name: string, game_name: string, successful_orders: number, revenue: string }>
  top_users: Array<{ user_id: string, user_email: string, orders: number }>
  failed_payments: {
    /** the current calendar month of the business zone, whatever the range */
    this_month: { month: string, count: number }
    /** every month the range touches (only the range's days counted), zeros included */
    by_month: Array<{ month: string, count: number }>
  }
}

export { TOP_N }

/**
 * Every figure of the dashboard, read from the per-day aggregates (their size
 * grows with days × catalog, never with orders) and the per-block lists of the
 * most active users (top-users.ts),
 * in one REPEATABLE READ snapshot so the figures agree with each other.
 */
export async function readSummary (db: Kysely<Database>, range: DateRange, options: { today: string, currency: string, timezone: string }): Promise<Summary> {
  const { start, end } = range
  const monthStart = `${options.today.slice(0, 7)}-01`
  return await db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    const daily = await sql<{ date: string, revenue: string, orders: number, successful_orders: number }>`
      SELECT to_char(d.day, 'YYYY-MM-DD') AS date,
             coalesce(sum(s.revenue), 0)::numeric(18,2)::text AS revenue,
             coalesce(sum(s.orders), 0)::int AS orders,
             coalesce(sum(s.success_orders), 0)::int AS successful_orders
        FROM generate_series(${start}::date, ${end}::date, interval '1 day') AS d(day)
        LEFT JOIN daily_game_product_stats s ON s.day = d.day::date
       GROUP BY d.day
       ORDER BY d.day`.execute(trx)

    const before = previousPeriod(range)
    const totals = await sql<{ revenue: string, orders: number, successful: number, failed: number, previous: boolean }>`
      SELECT coalesce(sum(revenue), 0)::numeric(18,2)::text AS revenue,
             coalesce(sum(orders), 0)::int AS orders,
             coalesce(sum(success_orders), 0)::int AS successful,
             coalesce(sum(failed_orders), 0)::int AS failed,
             day < ${start}::date AS previous
        FROM daily_game_product_stats
       WHERE day BETWEEN ${before.start}::date AND ${end}::date
       GROUP BY 5`.execute(trx)

    // names: those of the newest order in the range (then the greatest), as the aggregates keep them
    const games = await sql<Summary['revenue_by_game'][number]>`
      SELECT * FROM (
        SELECT game_id,
               (array_agg(game_name ORDER BY names_as_of DESC, game_name DESC, product_name DESC))[1] AS game_name,
               sum(revenue) AS revenue_sort,
               sum(revenue)::numeric(18,2)::text AS revenue,
               sum(orders)::int AS orders,
               sum(success_orders)::int AS successful_orders
          FROM daily_game_product_stats
         WHERE day BETWEEN ${start}::date AND ${end}::date
         GROUP BY game_id) g
       ORDER BY g.revenue_sort DESC, g.game_name COLLATE "C", g.game_id`.execute(trx)

    const products = await sql<Summary['top_products'][number]>`
      SELECT product_id, product_name, game_name, successful_orders, revenue FROM (
        SELECT product_id,
               (array_agg(product_name ORDER BY names_as_of DESC, game_name DESC, product_name DESC))[1] AS product_name,
               (array_agg(game_name ORDER BY names_as_of DESC, game_name DESC, product_name DESC))[1] AS game_name,
               sum(success_orders)::int AS successful_orders,
               sum(revenue)::numeric(18,2)::text AS revenue
          FROM daily_game_product_stats
         WHERE day BETWEEN ${start}::date AND ${end}::date
         GROUP BY product_id
        HAVING sum(success_orders) > 0) p
       ORDER BY p.successful_orders DESC, p.product_name COLLATE "C", p.product_id
       LIMIT ${TOP_N}`.execute(trx)

    // from the per-block lists, not a sum over one row per (day, user): see top-users.ts
    const users = await readTopUsers(trx, range)

    const failedByMonth = await sql<{ month: string, count: number }>`
      SELECT to_char(day, 'YYYY-MM') AS month, sum(failed_orders)::int AS count
        FROM daily_game_product_stats
       WHERE day BETWEEN ${start}::date AND ${end}::date AND failed_orders > 0
       GROUP BY 1`.execute(trx)

    const failedThisMonth = await sql<{ count: number }>`
      SELECT coalesce(sum(failed_orders), 0)::int AS count
        FROM daily_game_product_stats
       WHERE day >= ${monthStart}::date AND day < (${monthStart}::date + interval '1 month')`.execute(trx)

    const current = totalsOf(totals.rows.find((r) => !r.previous))
    const previous = totalsOf(totals.rows.find((r) => r.previous))
    const counted = new Map(failedByMonth.rows.map((r) => [r.month, r.count]))
    return {
      start_date: start,
      end_date: end,
      currency: options.currency,
      timezone: options.timezone,
      today: options.today,
      totals: current,
      previous: { start_date: before.start, end_date: before.end, totals: previous },
      change: {
        revenue: change(cents(current.revenue), cents(previous.revenue)),
        orders: change(BigInt(current.orders), BigInt(previous.orders)),
        successful_orders: change(BigInt(current.successful_orders), BigInt(previous.successful_orders)),
        average_order_value: current.average_order_value === null || previous.average_order_value === null ? null : change(cents(current.average_order_value), cents(previous.average_order_value)),
        success_rate_points: current.success_rate === null || previous.success_rate === null ? null : signed(cents(current.success_rate) - cents(previous.success_rate))
      },
      daily_revenue: daily.rows,
      revenue_by_game: games.rows.map(({ game_id: gameId, game_name: gameName, revenue, orders, successful_orders: successful }) => ({ game_id: gameId, game_name: gameName, revenue, orders, successful_orders: successful })),
      top_products: products.rows,
      top_users: users.users,
      failed_payments: {
        this_month: { month: options.today.slice(0, 7), count: failedThisMonth.rows[0]?.count ?? 0 },
        by_month: monthsOf(range).map((month) => ({ month, count: counted.get(month) ?? 0 }))
      }
    }
  })
}

function totalsOf (row: { revenue: string, orders: number, successful: number, failed: number } | undefined): Totals {
  const { revenue, orders, successful, failed } = row ?? { revenue: '0.00', orders: 0, successful: 0, failed: 0 }
  return {
    revenue,
    orders,
    successful_orders: successful,
    failed_orders: failed,
    pending_orders: orders - successful - failed,
    success_rate: percent(successful, orders),
    average_order_value: successful === 0 ? null : signed(roundHalfAway(cents(revenue), BigInt(successful)))
  }
}

/** A decimal string with two places ("699.00", "-3.10") as hundredths. */
function cents (decimal: string): bigint {
  const negative = decimal.startsWith('-')
  const [whole = '0', fraction = ''] = (negative ? decimal.slice(1) : decimal).split('.')
  const value = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2))
  return negative ? -value : value
}

/** a / b (b > 0) to the nearest integer, halves away from zero. */
function roundHalfAway (a: bigint, b: bigint): bigint {
  const magnitude = ((a < 0n ? -a : a) * 2n + b) / (2n * b)
  return a < 0n ? -magnitude : magnitude
}

/** Hundredths as a signed decimal string with two places. */
function signed (hundredths: bigint): string {
  const magnitude = hundredths < 0n ? -hundredths : hundredths
  return `${hundredths < 0n ? '-' : ''}${magnitude / 100n}.${String(magnitude % 100n).padStart(2, '0')}`
}

/** (now − before) / before in percent, two places, halves away from zero; null when before is 0 (no base to compare with). */
export function change (now: bigint, before: bigint): string | null {
  if (before <= 0n) return null
  return signed(roundHalfAway((now - before) * 10_000n, before))
}

/** part / whole in percent, two places, rounded half up, computed on integers (no float drift). */
export function percent (part: number, whole: number): string | null {
  if (whole === 0) return null
  const hundredths = (BigInt(part) * 20000n + BigInt(whole)) / (2n * BigInt(whole))
  return `${hundredths / 100n}.${String(hundredths % 100n).padStart(2, '0')}`
}
