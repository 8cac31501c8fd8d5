import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely'
import { formatDay, type DateRange } from '../dates.js'
import type { Database } from './schema.js'

/**
 * "Most active users" of a date range: the TOP_N users with the most orders
 * (any status) placed on the range's days, ties by the e-mail of their newest
 * order in the range (byte order), then by id. Summing `daily_user_stats`
 * over the range gives that answer but costs one row per (day, user), i.e.
 * about one per order. This file answers it from a structure whose size does
 * not grow with orders, and falls back to that sum only when the structure
 * cannot prove its answer.
 *
 * The structure (tables top_user_lists and top_user_bounds):
 * - Days are numbered from 1970-01-01. For each level 0..TOP_LEVEL, the days
 *   fall into aligned blocks of 2^level days (block = day >> level): 1 day,
 *   2, 4 … 256 days. Any range is the disjoint union of at most ~2 blocks per
 *   level (`blocksOf`); a 30-day range of 5 to 8 blocks.
 * - Each block keeps a list of at most LIST_SIZE users with their EXACT order
 *   count in the block, and a `bound`: no user missing from the list has more
 *   orders in the block than that. Size: LIST_SIZE + 1 rows per block, about
 *   2 × LIST_SIZE rows per day of history whatever the number of orders.
 *
 * Reading a range (`readTopUsers`), with blocks B1..Bm:
 * - every listed user is a candidate, with a lower bound (the sum of their
 *   listed counts) and an upper bound (that plus the bounds of the blocks that
 *   do not list them); candidates whose upper bound is below the fifth-best
 *   lower bound cannot be in the top and are dropped; the exact count and
 *   e-mail of the others are re-derived from daily_user_stats (index on
 *   user_id, day): a handful of users, not the range's orders;
 * - a user listed nowhere has at most Θ = bound(B1) + … + bound(Bm) orders in
 *   the range. If the fifth-best candidate has MORE than Θ orders, no unlisted
 *   user can reach the top (not even on a tie, which e-mail might win), so
 *   the candidates' ranking is the exact answer. If every bound is 0, every
 *   user of the range is listed, and the answer is exact whatever its length.
 * - Otherwise (Θ ≥ the fifth count): the fallback, the plain sum over
 *   daily_user_stats, is the answer. This happens when activity is flat:
 *   when the top users of the range are hardly more active than thousands of
 *   others, no bounded summary can tell which of those thousands is fifth
 *   (it is a range "top-k mode" query). With a few users clearly more active
 *   than the rest, which is how top-up spending is distributed, the lists
 *   answer. `readTopUsers` says which way it answered.
 *
 * Writing, in the transaction of the event that adds an order to a user's
 * day (so the structure always agrees with daily_user_stats):
 * - in each of the TOP_LEVEL + 1 blocks holding the day where the user is
 *   listed, their exact count grows by one; elsewhere their exact count is
 *   re-derived from their own daily_user_stats rows (those of the widest such
 *   block: a few, for the many users no list holds) and, if it exceeds the
 *   block's bound, the user enters the list (evicting its
 *   least-active member when full, whose count then raises the bound) or, when
 *   no member has fewer orders, the bound is raised to the count. A count
 *   within the bound changes nothing: the bound still covers it.
 * The two correctness rules, (1) listed counts are exact, (2) the bound covers
 * every unlisted user, need no more than that; which users are listed only
 * decides how often the lists can answer.
 *
 * Concurrency (the consumers apply events in parallel, READ COMMITTED). Every
 * event of the day touches the same few blocks, so nothing here may hold a
 * block-wide lock until commit (that serialised the consumers: 4× slower):
 * - a transaction-scoped advisory lock per user serialises the events of one
 *   user, so the counts re-derived after it include every committed order of
 *   that user (a statement's snapshot is taken after the lock), adding one to
 *   a listed count keeps it exact, and only that user's transaction ever
 *   inserts or updates that user's list rows;
 * - an evicting transaction picks its victim with FOR UPDATE SKIP LOCKED (it
 *   never waits for, nor evicts, a member whose own event is updating it) and
 *   raises the bound with the victim's count as deleted, the latest. A member
 *   evicted after our snapshot makes our update find no row: we then take
 *   the entry path with our exact count, like any unlisted user;
 * - a bound is never updated in place: raising it appends a row, and the
 *   block's bound is the greatest of its rows. Appends take no lock, and the
 *   bound only grows, so a raise that an older snapshot already covers is
 *   skipped;
 * - two users filling the last free places at once may both enter: a list can
 *   exceed LIST_SIZE by the events filling it at that instant. Harmless (the
 *   rules hold; a read reads a few more rows) and cheaper than a lock.
 * So the only waits are for the same user's other events, and an update
 * waiting for the eviction of its own row; neither can form a cycle.
 */

export const TOP_N = 5
/** Blocks of 1 to 2^TOP_LEVEL = 256 days: a 366-day range needs at most ~15 of them. */
export const TOP_LEVEL = 8
/** Users kept per block: more lists more often answer, at LIST_SIZE rows read per block. */
export const LIST_SIZE = 32

/** Advisory lock class (two-key form) of the per-user lock. */
const USER_LOCK = 72_001

const DAY_MS = 86_400_000

export interface TopUser { user_id: string, user_email: string, orders: number }
export interface Block { level: number, block: number }

/** Days since 1970-01-01 of a YYYY-MM-DD date. */
export function dayNumber (day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS)
}

/** The aligned blocks whose disjoint union is the range (both ends inclusive), largest first where they fit. */
export function blocksOf (range: DateRange): Block[] {
  const blocks: Block[] = []
  let from = dayNumber(range.start)
  const to = dayNumber(range.end) + 1
  while (from < to) {
    let level = 0
    while (level < TOP_LEVEL && mod(from, 2 ** (level + 1)) === 0 && from + 2 ** (level + 1) <= to) level++
    blocks.push({ level, block: Math.floor(from / 2 ** level) })
    from += 2 ** level
  }
  return blocks
}

function mod (a: number, m: number): number {
  return ((a % m) + m) % m
}

/**
 * The ranking itself, over the users `where` selects: the one definition both
 * the candidates and the fallback use, so they cannot rank differently.
 */
function ranked (trx: Kysely<Database>, range: DateRange, where: RawBuilder<unknown>): Promise<{ rows: TopUser[] }> {
  return sql<TopUser>`
    SELECT * FROM (
      SELECT user_id::text AS user_id,
             (array_agg(user_email ORDER BY email_as_of DESC, user_email DESC))[1] AS user_email,
             sum(orders)::int AS orders
        FROM daily_user_stats
       WHERE day BETWEEN ${range.start}::date AND ${range.end}::date AND ${where}
       GROUP BY user_id) u
     ORDER BY u.orders DESC, u.user_email COLLATE "C", u.user_id
     LIMIT ${TOP_N}`.execute(trx)
}

/** The fallback and the reference: the sum over every (day, user) row of the range. */
export async function scanTopUsers (trx: Kysely<Database>, range: DateRange): Promise<TopUser[]> {
  return (await ranked(trx, range, sql`true`)).rows
}

/**
 * The range's most active users, exact. `answeredBy` says whether the block
 * lists proved the answer or the fallback sum computed it. Run it inside the
 * caller's (repeatable read) transaction: lists, bounds and daily rows are
 * read in one snapshot, which the writers keep consistent.
 */
export async function readTopUsers (trx: Kysely<Database>, range: DateRange): Promise<{ users: TopUser[], answeredBy: 'lists' | 'scan' }> {
  const blocks = blocksOf(range)
  const levels = blocks.map((b) => b.level)
  const numbers = blocks.map((b) => b.block)
  // the blocks' lists, and their bounds (a block's bound is the greatest of its appended rows), in one round trip
  const rows = await sql<{ level: number, block: number, user_id: string | null, orders: number }>`
    WITH q AS (SELECT * FROM unnest(${levels}::smallint[], ${numbers}::int[]) AS q(level, block))
    SELECT l.level, l.block, l.user_id::text AS user_id, l.orders FROM top_user_lists l JOIN q USING (level, block)
    UNION ALL
    SELECT b.level, b.block, NULL, max(b.bound) FROM top_user_bounds b JOIN q USING (level, block) GROUP BY b.level, b.block`.execute(trx)
  const lists = rows.rows.filter((r): r is typeof r & { user_id: string } => r.user_id !== null)
  const bounds = rows.rows.filter((r) => r.user_id === null).map((r) => ({ level: r.level, block: r.block, bound: r.orders }))
  const key = (level: number, block: number): string => `${level}:${block}`
  const boundOf = new Map(bounds.map((b) => [key(b.level, b.block), b.bound]))
  // Θ: the most orders a user listed in none of the blocks can have in the range
  const unlistedMax = bounds.reduce((sum, b) => sum + b.bound, 0)
  const candidates = new Map<string, { lower: number, coveredBound: number }>()
  for (const row of lists) {
    const c = candidates.get(row.user_id) ?? { lower: 0, coveredBound: 0 }
    c.lower += row.orders
    c.coveredBound += boundOf.get(key(row.level, row.block)) ?? 0
    candidates.set(row.user_id, c)
  }
  const lowers = [...candidates.values()].map((c) => c.lower).sort((a, b) => b - a)
  const fifthLower = lowers[TOP_N - 1] ?? 0
  // upper bound = listed counts + the bounds of the blocks that do not list the user
  const survivors = [...candidates].filter(([, c]) => c.lower + unlistedMax - c.coveredBound >= fifthLower).map(([id]) => id)
  const users = survivors.length === 0 ? [] : (await ranked(trx, range, sql`user_id = ANY(${survivors}::uuid[])`)).rows
  const fifth = users[TOP_N - 1]
  if (unlistedMax === 0 || (fifth !== undefined && fifth.orders > unlistedMax)) return { users, answeredBy: 'lists' }
  return { users: await scanTopUsers(trx, range), answeredBy: 'scan' }
}

/**
 * Keeps the block lists exact for an order just added to `userId`'s `day` in
 * daily_user_stats (same transaction, after that row's upsert).
 */
export async function recordUserOrder (trx: Transaction<Database>, userId: string, day: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${USER_LOCK}::int, hashtext(${userId}))`.execute(trx)
  const number = dayNumber(day)
  const levels = Array.from({ length: TOP_LEVEL + 1 }, (_, level) => level)
  const blocks = levels.map((level) => Math.floor(number / 2 ** level))
  // where the user is listed, the order adds one to an exact count; elsewhere, the block's bound
  const state = await sql<{ level: number, listed: boolean, bound: number }>`
    WITH here AS (
      SELECT * FROM unnest(${levels}::smallint[], ${blocks}::int[]) AS q(level, block)
    ), listed AS (
      UPDATE top_user_lists t SET orders = t.orders + 1
        FROM here
       WHERE t.level = here.level AND t.block = here.block AND t.user_id = ${userId}::uuid
      RETURNING t.level
    )
    SELECT here.level, EXISTS (SELECT 1 FROM listed WHERE listed.level = here.level) AS listed,
           coalesce((SELECT max(b.bound) FROM top_user_bounds b WHERE b.level = here.level AND b.block = here.block), 0) AS bound
      FROM here`.execute(trx)
  const unlisted = state.rows.filter((s) => !s.listed)
  if (unlisted.length === 0) return
  const widest = Math.max(...unlisted.map((s) => s.level))
  // the user's exact count in each block they are not listed in, from their own days of the widest of those blocks
  const first = Math.floor(number / 2 ** widest) * 2 ** widest
  const days = await sql<{ n: number, orders: number }>`
    SELECT day - DATE '1970-01-01' AS n, orders FROM daily_user_stats
     WHERE user_id = ${userId}::uuid AND day >= ${formatDay(first * DAY_MS)}::date AND day < ${formatDay((first + 2 ** widest) * DAY_MS)}::date`.execute(trx)
  const entering = unlisted.map((s) => {
    const block = Math.floor(number / 2 ** s.level)
    const orders = days.rows.reduce((sum, d) => sum + (Math.floor(d.n / 2 ** s.level) === block ? d.orders : 0), 0)
    return { level: s.level, block, orders, bound: s.bound }
  }).filter((s) => s.orders > s.bound)
  if (entering.length > 0) await enter(trx, userId, entering)
}

/**
 * The blocks where the user is unlisted and above the bound: into the list
 * (evicting the least-active member a full list has, whose count raises the
 * bound), or, when no member has fewer orders, the bound raised to theirs.
 */
async function enter (trx: Transaction<Database>, userId: string, entering: Array<{ level: number, block: number, orders: number, bound: number }>): Promise<void> {
  await sql`
    WITH sized AS (
      SELECT n.level, n.block, n.orders, n.bound,
             (SELECT count(*)::int FROM top_user_lists l WHERE l.level = n.level AND l.block = n.block) AS size
        FROM unnest(${entering.map((e) => e.level)}::smallint[], ${entering.map((e) => e.block)}::int[],
                    ${entering.map((e) => e.orders)}::int[], ${entering.map((e) => e.bound)}::int[]) AS n(level, block, orders, bound)
    ), victims AS (
      SELECT s.level, s.block, v.user_id
        FROM sized s CROSS JOIN LATERAL (
          SELECT l.user_id FROM top_user_lists l
           WHERE l.level = s.level AND l.block = s.block AND l.orders < s.orders
           ORDER BY l.orders, l.user_id
           LIMIT 1
           FOR UPDATE SKIP LOCKED) v
       WHERE s.size >= ${LIST_SIZE}
    ), evicted AS (
      DELETE FROM top_user_lists t USING victims v
       WHERE t.level = v.level AND t.block = v.block AND t.user_id = v.user_id
      RETURNING t.level, t.orders
    ), entered AS (
      INSERT INTO top_user_lists (level, block, user_id, orders)
      SELECT s.level, s.block, ${userId}::uuid, s.orders FROM sized s
       WHERE s.size < ${LIST_SIZE} OR EXISTS (SELECT 1 FROM evicted e WHERE e.level = s.level)
      RETURNING level
    )
    INSERT INTO top_user_bounds (level, block, bound)
    SELECT s.level, s.block, coalesce(e.orders, s.orders)
      FROM sized s LEFT JOIN evicted e ON e.level = s.level
     WHERE (e.orders IS NOT NULL OR NOT EXISTS (SELECT 1 FROM entered x WHERE x.level = s.level))
       AND coalesce(e.orders, s.orders) > s.bound`.execute(trx)
}

/** Rows of daily_user_stats fetched at a time by the rebuild. */
const REBUILD_PAGE = 50_000

/**
 * Rebuilds the block lists from daily_user_stats (after a bulk load that
 * wrote daily_user_stats directly, as the benchmark does): the exact top
 * LIST_SIZE users of every block, the bound being the next user's count.
 * Locks both tables against the event consumers while it runs (they wait,
 * then see the result).
 *
 * Why in JavaScript and not one GROUP BY per level: daily_user_stats is read
 * once, in day order, so every block's rows come together and one map per
 * level holds only the current block; the SQL version sorted and hashed the
 * whole table nine times (10 M orders: 8.5 minutes on a busy machine).
 */
export async function rebuildTopUsers (db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (trx) => { await rebuildTopUsersIn(trx) })
}

/** rebuildTopUsers inside the caller's transaction (the business-day rebuild recomputes daily_user_stats first, in the same one). */
export async function rebuildTopUsersIn (trx: Transaction<Database>): Promise<void> {
  await sql`LOCK TABLE top_user_lists, top_user_bounds IN EXCLUSIVE MODE`.execute(trx)
  await sql`TRUNCATE top_user_lists, top_user_bounds`.execute(trx)
  // one pass in day order through a cursor (sorted once, by the plan cheapest for the whole table)
  await sql`SET LOCAL cursor_tuple_fraction = 1.0`.execute(trx)
  await sql`DECLARE top_user_rebuild NO SCROLL CURSOR FOR
    SELECT day - DATE '1970-01-01' AS n, user_id::text AS id, orders FROM daily_user_stats ORDER BY day`.execute(trx)
  const lists = new BlockLists()
  for (;;) {
    const page = await sql<{ n: number, id: string, orders: number }>`FETCH ${sql.lit(REBUILD_PAGE)} FROM top_user_rebuild`.execute(trx)
    for (const row of page.rows) lists.add(row.n, row.id, row.orders)
    await lists.write(trx)
    if (page.rows.length < REBUILD_PAGE) break
  }
  await sql`CLOSE top_user_rebuild`.execute(trx)
  lists.end()
  await lists.write(trx)
}

/**
 * The rebuild's state. Users get a number when first seen (one map lookup per
 * row); per level, the counts of the block being read are an array indexed by
 * that number, with the users it touched, so a row costs one lookup and nine
 * array updates, and a finished block is ranked with a LIST_SIZE + 1 heap
 * instead of a sort of all its users.
 */
class BlockLists {
  private readonly numbers = new Map<string, number>()
  private readonly ids: string[] = []
  private readonly levels = Array.from({ length: TOP_LEVEL + 1 }, () => ({ block: Number.NaN, counts: new Int32Array(1024), touched: [] as number[] }))
  private listed: Array<{ level: number, block: number, user: string, orders: number }> = []
  private bounds: Array<{ level: number, block: number, bound: number }> = []

  /** One (day, user) row, in day order. */
  add (day: number, user: string, orders: number): void {
    let n = this.numbers.get(user)
    if (n === undefined) {
      n = this.ids.length
      this.numbers.set(user, n)
      this.ids.push(user)
    }
    for (let level = 0; level <= TOP_LEVEL; level++) {
      const state = this.levels[level]
      if (state === undefined) continue
      const block = Math.floor(day / 2 ** level)
      if (state.block !== block) {
        this.finish(level)
        state.block = block
      }
      if (n >= state.counts.length) {
        const grown = new Int32Array(Math.max(n + 1, state.counts.length * 2))
        grown.set(state.counts)
        state.counts = grown
      }
      if (state.counts[n] === 0) state.touched.push(n)
      state.counts[n] = (state.counts[n] ?? 0) + orders
    }
  }

  end (): void {
    for (let level = 0; level <= TOP_LEVEL; level++) this.finish(level)
  }

  /** The block's top LIST_SIZE (by count, then id) into its list; the next one's count is its bound. */
  private finish (level: number): void {
    const state = this.levels[level]
    if (state === undefined || state.touched.length === 0) return
    const { counts, ids } = { counts: state.counts, ids: this.ids }
    // before(a, b): a ranks above b
    const before = (a: number, b: number): boolean => {
      const ca = counts[a] ?? 0
      const cb = counts[b] ?? 0
      return ca !== cb ? ca > cb : (ids[a] ?? '') < (ids[b] ?? '')
    }
    // the best LIST_SIZE + 1, kept sorted best first; most users fail the first comparison with the last
    const best: number[] = []
    for (const u of state.touched) {
      if (best.length > LIST_SIZE && !before(u, best[LIST_SIZE] ?? u)) continue
      let i = Math.min(best.length, LIST_SIZE)
      while (i > 0 && before(u, best[i - 1] ?? u)) i--
      best.splice(i, 0, u)
      if (best.length > LIST_SIZE + 1) best.pop()
    }
    for (const u of best.slice(0, LIST_SIZE)) this.listed.push({ level, block: state.block, user: ids[u] ?? '', orders: counts[u] ?? 0 })
    const next = best[LIST_SIZE]
    if (next !== undefined) this.bounds.push({ level, block: state.block, bound: counts[next] ?? 0 })
    for (const u of state.touched) counts[u] = 0
    state.touched = []
  }

  async write (trx: Transaction<Database>): Promise<void> {
    const { listed, bounds } = this
    this.listed = []
    this.bounds = []
    if (listed.length > 0) {
      await sql`INSERT INTO top_user_lists (level, block, user_id, orders)
        SELECT * FROM unnest(${listed.map((r) => r.level)}::smallint[], ${listed.map((r) => r.block)}::int[],
                             ${listed.map((r) => r.user)}::uuid[], ${listed.map((r) => r.orders)}::int[])`.execute(trx)
    }
    if (bounds.length > 0) {
      await sql`INSERT INTO top_user_bounds (level, block, bound)
        SELECT * FROM unnest(${bounds.map((r) => r.level)}::smallint[], ${bounds.map((r) => r.block)}::int[], ${bounds.map((r) => r.bound)}::int[])`.execute(trx)
    }
  }
}
