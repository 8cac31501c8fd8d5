import { sql, type Kysely } from 'kysely'

/**
 * Per-block lists of the most active users (src/db/top-users.ts explains
 * them): the dashboard's "most active users" no longer sums daily_user_stats
 * (about one row per order) over the range.
 *
 * Frozen in time: the block levels (0..8: 1 to 256 days) and the list size
 * (32) are written here as they were when this shipped, and the backfill is
 * this file's own code, not the service's.
 */
const TOP_LEVEL = 8
const LIST_SIZE = 32

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('top_user_lists')
    .addColumn('level', 'smallint', (c) => c.notNull().check(sql`level BETWEEN 0 AND ${sql.lit(TOP_LEVEL)}`))
    // days since 1970-01-01 >> level
    .addColumn('block', 'integer', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('orders', 'integer', (c) => c.notNull().check(sql`orders > 0`))
    .addPrimaryKeyConstraint('top_user_lists_pk', ['level', 'block', 'user_id'])
    .execute()
  // appended, never updated (raising a bound takes no lock): a block's bound is the greatest of its rows
  await db.schema.createTable('top_user_bounds')
    .addColumn('level', 'smallint', (c) => c.notNull().check(sql`level BETWEEN 0 AND ${sql.lit(TOP_LEVEL)}`))
    .addColumn('block', 'integer', (c) => c.notNull())
    .addColumn('id', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity())
    .addColumn('bound', 'integer', (c) => c.notNull().check(sql`bound > 0`))
    .addPrimaryKeyConstraint('top_user_bounds_pk', ['level', 'block', 'id'])
    .execute()
  // a user's own days: the exact counts of the candidates, and of the user an event adds an order to
  await db.schema.createIndex('daily_user_stats_user_day').on('daily_user_stats').columns(['user_id', 'day']).execute()
  await backfill(db)
}

/**
 * The exact top LIST_SIZE users of every block that has orders, the bound
 * being the next user's count: daily_user_stats read once in day order
 * through a cursor (so a block's rows come together), counts per level in an
 * array indexed by a number per user, the best LIST_SIZE + 1 of a finished
 * block kept in a short sorted array. (Nine GROUP BYs over the table took
 * 8.5 minutes at 10 M orders; this about one and a half.)
 */
async function backfill (db: Kysely<unknown>): Promise<void> {
  const numbers = new Map<string, number>()
  const ids: string[] = []
  const levels = Array.from({ length: TOP_LEVEL + 1 }, () => ({ block: Number.NaN, counts: new Int32Array(1024), touched: [] as number[] }))
  let listed: Array<[number, number, string, number]> = []
  let bounds: Array<[number, number, number]> = []
  const finish = (level: number): void => {
    const state = levels[level]
    if (state === undefined || state.touched.length === 0) return
    const counts = state.counts
    const before = (a: number, b: number): boolean => {
      const ca = counts[a] ?? 0
      const cb = counts[b] ?? 0
      return ca !== cb ? ca > cb : (ids[a] ?? '') < (ids[b] ?? '')
    }
    const best: number[] = []
    for (const u of state.touched) {
      if (best.length > LIST_SIZE && !before(u, best[LIST_SIZE] ?? u)) continue
      let i = Math.min(best.length, LIST_SIZE)
      while (i > 0 && before(u, best[i - 1] ?? u)) i--
      best.splice(i, 0, u)
      if (best.length > LIST_SIZE + 1) best.pop()
    }
    for (const u of best.slice(0, LIST_SIZE)) listed.push([level, state.block, ids[u] ?? '', counts[u] ?? 0])
    const next = best[LIST_SIZE]
    if (next !== undefined) bounds.push([level, state.block, counts[next] ?? 0])
    for (const u of state.touched) counts[u] = 0
    state.touched = []
  }
  const write = async (): Promise<void> => {
    if (listed.length > 0) {
      await sql`INSERT INTO top_user_lists (level, block, user_id, orders)
        SELECT * FROM unnest(${listed.map((r) => r[0])}::smallint[], ${listed.map((r) => r[1])}::int[], ${listed.map((r) => r[2])}::uuid[], ${listed.map((r) => r[3])}::int[])`.execute(db)
    }
    if (bounds.length > 0) {
      await sql`INSERT INTO top_user_bounds (level, block, bound)
        SELECT * FROM unnest(${bounds.map((r) => r[0])}::smallint[], ${bounds.map((r) => r[1])}::int[], ${bounds.map((r) => r[2])}::int[])`.execute(db)
    }
    listed = []
    bounds = []
  }

  await sql`SET LOCAL cursor_tuple_fraction = 1.0`.execute(db)
  await sql`DECLARE top_user_backfill NO SCROLL CURSOR FOR
    SELECT day - DATE '1970-01-01' AS n, user_id::text AS id, orders FROM daily_user_stats ORDER BY day`.execute(db)
  for (;;) {
    const page = await sql<{ n: number, id: string, orders: number }>`FETCH 50000 FROM top_user_backfill`.execute(db)
    for (const { n: day, id, orders } of page.rows) {
      let n = numbers.get(id)
      if (n === undefined) {
        n = ids.length
        numbers.set(id, n)
        ids.push(id)
      }
      for (let level = 0; level <= TOP_LEVEL; level++) {
        const state = levels[level]
        if (state === undefined) continue
        const block = Math.floor(day / 2 ** level)
        if (state.block !== block) {
          finish(level)
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
    await write()
    if (page.rows.length < 50000) break
  }
  await sql`CLOSE top_user_backfill`.execute(db)
  for (let level = 0; level <= TOP_LEVEL; level++) finish(level)
  await write()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('daily_user_stats_user_day').execute()
  await db.schema.dropTable('top_user_bounds').execute()
  await db.schema.dropTable('top_user_lists').execute()
}
