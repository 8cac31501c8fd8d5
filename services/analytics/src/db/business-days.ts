import { sql, type Kysely } from 'kysely'
import type { Database } from './schema.js'
import { rebuildTopUsersIn } from './top-users.js'

/**
 * The business time zone (BUSINESS_TIMEZONE, an IANA name, default UTC): the
 * zone whose calendar days the summary, the charts and the exports count in.
 *
 * Why the aggregates are keyed by that zone's days (and not computed at query
 * time with AT TIME ZONE): the summary reads per-day aggregates whose size
 * grows with days × catalog, never with orders (docs/DESIGN.md §5.1); summing
 * order_facts per request would undo that. So the zone is part of the read
 * model: `read_model_settings.business_timezone` says which zone the stored
 * days are in, and the writers compute an order's day in SQL from that row
 * (src/db/read-model.ts), never from their own configuration.
 *
 * A change of zone is applied by `rebuildBusinessDays` (the command
 * `npm run rebuild-days -w @topup/analytics`): in one transaction, it locks
 * order_facts against the event handlers (they wait, then continue in the new
 * zone), recomputes daily_game_product_stats and daily_user_stats from
 * order_facts, rebuilds the top-user blocks from those, and records the zone.
 * At start, `ensureBusinessTimeZone` refuses a BUSINESS_TIMEZONE that differs
 * from the stored one while there are orders (the figures would be in another
 * zone than the page says) and names the command; on an empty read model it
 * simply records the new zone.
 */

/** Whether Node's ICU knows the IANA zone (checked again against PostgreSQL at start). */
export function isTimeZone (name: string): boolean {
  // a name, not an offset: Intl takes "+05:30", and PostgreSQL reads such a string POSIX-style, sign inverted
  if (name.length > 64 || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name }).format(0)
    return true
  } catch {
    return false
  }
}

const dayFormats = new Map<string, Intl.DateTimeFormat>()

/** The calendar date (YYYY-MM-DD) of an instant in a zone. */
export function dayIn (instant: Date, timeZone: string): string {
  let format = dayFormats.get(timeZone)
  if (format === undefined) {
    // en-CA writes YYYY-MM-DD; the parts are read one by one anyway, so no locale quirk can reorder them
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    dayFormats.set(timeZone, format)
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]))
  return `${String(parts.year).padStart(4, '0')}-${parts.month ?? ''}-${parts.day ?? ''}`
}

export async function storedTimeZone (db: Kysely<Database>): Promise<string> {
  const row = await db.selectFrom('read_model_settings').select('business_timezone').executeTakeFirstOrThrow()
  return row.business_timezone
}

export class TimeZoneMismatch extends Error {
  constructor (readonly stored: string, readonly configured: string) {
    super(`the read model's days are in ${stored} but BUSINESS_TIMEZONE is ${configured}: ` +
      `recompute them with \`BUSINESS_TIMEZONE=${configured} npm run rebuild-days -w @topup/analytics\` ` +
      `(docs/OPERATORS.md, "Changing the business time zone"), or set BUSINESS_TIMEZONE=${stored}`)
    this.name = 'TimeZoneMismatch'
  }
}

/**
 * At start: PostgreSQL must know the zone too (its tz database is not Node's),
 * and the stored aggregates must be in it. An empty read model takes the new
 * zone at once; one with orders needs the rebuild (minutes on millions of
 * orders: never done implicitly by a start).
 */
export async function ensureBusinessTimeZone (db: Kysely<Database>, timeZone: string): Promise<void> {
  try {
    await sql`SELECT now() AT TIME ZONE ${timeZone}`.execute(db)
  } catch (err) {
    if ((err as { code?: string }).code === '22023') throw new Error(`BUSINESS_TIMEZONE: PostgreSQL does not know the time zone ${timeZone}`, { cause: err })
    throw err
  }
  await db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('read_model_settings').select('business_timezone').forUpdate().executeTakeFirstOrThrow()
    if (row.business_timezone === timeZone) return
    const any = await trx.selectFrom('order_facts').select('order_id').limit(1).executeTakeFirst()
    if (any !== undefined) throw new TimeZoneMismatch(row.business_timezone, timeZone)
    await trx.updateTable('read_model_settings').set({ business_timezone: timeZone }).execute()
  })
}

/**
 * Recomputes every per-day aggregate in `timeZone`'s days from order_facts
 * (complete rows), with the same rules the event handlers follow (names and
 * e-mails of the newest order, ties by the greater name in byte order), then
 * the top-user blocks, and records the zone: one transaction, so the
 * dashboard sees the old figures or the new ones, never a mix (its requests
 * wait while this runs).
 */
export async function rebuildBusinessDays (db: Kysely<Database>, timeZone: string): Promise<{ orders: number, days: number }> {
  return await db.transaction().execute(async (trx) => {
    // the handlers' first statement writes order_facts: they wait here, and then read the new zone
    await sql`LOCK TABLE order_facts IN SHARE MODE`.execute(trx)
    await sql`SELECT now() AT TIME ZONE ${timeZone}`.execute(trx)
    await trx.updateTable('read_model_settings').set({ business_timezone: timeZone, days_rebuilt_at: sql`now()` }).execute()
    await sql`TRUNCATE daily_game_product_stats, daily_user_stats`.execute(trx)
    await sql`
      INSERT INTO daily_game_product_stats (day, game_id, product_id, game_name, product_name, names_as_of, orders, success_orders, failed_orders, revenue)
      SELECT (created_at AT TIME ZONE ${timeZone})::date, game_id, product_id,
             (array_agg(game_name ORDER BY created_at DESC, game_name COLLATE "C" DESC, product_name COLLATE "C" DESC))[1],
             (array_agg(product_name ORDER BY created_at DESC, game_name COLLATE "C" DESC, product_name COLLATE "C" DESC))[1],
             max(created_at),
             count(*),
             count(*) FILTER (WHERE status = 'success'),
             count(*) FILTER (WHERE status = 'failed'),
             coalesce(sum(amount) FILTER (WHERE status = 'success'), 0)
        FROM order_facts
       WHERE created_at IS NOT NULL
       GROUP BY 1, 2, 3`.execute(trx)
    await sql`
      INSERT INTO daily_user_stats (day, user_id, user_email, email_as_of, orders)
      SELECT (created_at AT TIME ZONE ${timeZone})::date, user_id,
             (array_agg(user_email ORDER BY created_at DESC, user_email COLLATE "C" DESC))[1],
             max(created_at),
             count(*)
        FROM order_facts
       WHERE created_at IS NOT NULL
       GROUP BY 1, 2`.execute(trx)
    await rebuildTopUsersIn(trx)
    const counts = await sql<{ orders: number, days: number }>`
      SELECT coalesce(sum(orders), 0)::int AS orders, count(DISTINCT day)::int AS days FROM daily_game_product_stats`.execute(trx)
    return counts.rows[0] ?? { orders: 0, days: 0 }
  })
}
