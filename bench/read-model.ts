/**
 * Bulk data for the dashboard and export figures: a year of orders written
 * straight into analytics' read model with generate_series (never through
 * HTTP), then every aggregate the summary reads derived from those rows in
 * SQL, so the read model is exactly what the event handlers would have built
 * (services/analytics/src/db/read-model.ts) and the summary must equal a scan.
 *
 * The schema is read from the database first (services/analytics/migrations):
 * a read-model table this loader does not know how to fill stops the load
 * with its name, rather than benchmarking a summary over a table left empty.
 * The "most active users" block lists (top_user_lists, top_user_bounds) are
 * rebuilt from daily_user_stats by analytics' own rebuildTopUsers(), the
 * function its authors keep in step with that structure.
 *
 * Secondary indexes (those behind no constraint) are dropped for the load
 * and created again from their own definitions (pg_get_indexdef) afterwards:
 * one sort per index instead of millions of random inserts; the schema ends
 * exactly as the migrations made it.
 *
 * Ids are counters formatted as UUIDs (order n is 00000001-0000-4000-8000-<n
 * in hex>), in created_at order: the primary keys grow at their right edge,
 * which is what makes 10 M rows load in minutes on 2 cores (random UUIDs
 * would scatter every insert over indexes far larger than shared_buffers).
 * Products and statuses (70 % success, 20 % failed, 10 % pending) are spread
 * evenly by PostgreSQL's hashint4. Players are drawn with a heavy tail,
 * player = ⌈users · h²⌉ for an even hash h in [0, 1): every player orders
 * (the least active ~10 a year at users = orders / 20), the most active few
 * far more (at 10 M orders the top player ~40 a day), as spending on top-ups
 * is distributed. (An even draw would make "most active users" a near tie
 * among thousands of players with the same count.)
 */
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from '../services/analytics/dist/src/db/schema.js'
import type { CatalogProduct } from './catalog.js'

/** What the loader writes itself, in this order; `inbox` and kysely's bookkeeping are not read-model tables. */
const FILLED = ['order_facts', 'daily_game_product_stats', 'daily_user_stats'] as const
/** What analytics' rebuildTopUsers() derives from daily_user_stats. */
const TOP_USER_TABLES = ['top_user_lists', 'top_user_bounds'] as const
const NOT_READ_MODEL = new Set(['inbox', 'kysely_migration', 'kysely_migration_lock'])
const CHUNK_ROWS = 500_000
/**
 * Statements run at once during the load (chunks of order rows, the two
 * aggregates, the index builds): PostgreSQL runs each in one backend, and
 * this machine has 2 cores.
 */
const LOAD_CONNECTIONS = 2
/** Per connection of the load only (start-up options): a bulk load needs neither a flush per commit nor 4 MB sorts. */
const LOAD_SETTINGS = '-c synchronous_commit=off -c work_mem=256MB -c maintenance_work_mem=512MB'
const DAY_MS = 86_400_000

export interface LoadOptions {
  orders: number
  users: number
  /** The history ends now and goes back this many days. */
  days: number
  catalog: CatalogProduct[]
  /** After each step: rows written so far, and what is being done. */
  onProgress?: (message: string) => void
}

export interface LoadResult {
  orders: number
  users: number
  days: number
  /** Milliseconds: the order rows, the aggregates (top-user lists included), the secondary indexes, ANALYZE / VACUUM. */
  ordersMs: number
  aggregatesMs: number
  indexesMs: number
  analyzeMs: number
  totalMs: number
  /** Rows of each read-model table after the load. */
  rows: Record<string, number>
}

/** The read-model tables in the database, and those of them this loader cannot fill. */
export async function readModelTables (client: pg.Client): Promise<{ tables: string[], unknown: string[] }> {
  const rows = await client.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = \'public\' AND table_type = \'BASE TABLE\' ORDER BY 1')
  const tables = rows.rows.map((r) => r.table_name).filter((t) => !NOT_READ_MODEL.has(t))
  const known: readonly string[] = [...FILLED, ...TOP_USER_TABLES]
  return { tables, unknown: tables.filter((t) => !known.includes(t)) }
}

/** analytics' rebuildTopUsers(db), from its build (a dynamic import: the structure is new and may move). */
async function rebuildTopUsers (databaseUrl: string): Promise<void> {
  const module: { rebuildTopUsers?: (db: Kysely<Database>) => Promise<void> } = await import('../services/analytics/dist/src/db/top-users.js')
  if (typeof module.rebuildTopUsers !== 'function') throw new Error('services/analytics/dist/src/db/top-users.js exports no rebuildTopUsers(db): the top-user lists cannot be filled')
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }) })
  try {
    await module.rebuildTopUsers(db)
  } finally {
    await db.destroy()
  }
}

/** The indexes of `tables` that back no constraint: name and the statement that creates each. */
async function secondaryIndexes (client: pg.Client, tables: readonly string[]): Promise<Array<{ name: string, definition: string }>> {
  const rows = await client.query<{ name: string, definition: string }>(`
    SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = ANY(SELECT oid FROM pg_class WHERE relname = ANY($1::text[]) AND relnamespace = 'public'::regnamespace)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
     ORDER BY 1`, [tables])
  return rows.rows
}

/** Empties the read model and fills it with `orders` orders of `users` players over the last `days` days. */
export async function fillReadModel (client: pg.Client, databaseUrl: string, options: LoadOptions): Promise<LoadResult> {
  const { tables, unknown } = await readModelTables(client)
  if (unknown.length > 0) {
    throw new Error(`the analytics read model has table(s) ${unknown.join(', ')} that bench/read-model.ts does not fill: teach fillReadModel() to derive them from order_facts`)
  }
  const progress = options.onProgress ?? (() => {})
  const started = Date.now()
  const pool = new pg.Pool({ connectionString: databaseUrl, max: LOAD_CONNECTIONS, options: LOAD_SETTINGS })
  try {
    return await load(client, pool, databaseUrl, options, tables, progress, started)
  } finally {
    await pool.end()
  }
}

async function load (client: pg.Client, pool: pg.Pool, databaseUrl: string, options: LoadOptions, tables: string[], progress: (message: string) => void, started: number): Promise<LoadResult> {
  const topUsers = TOP_USER_TABLES.filter((t) => tables.includes(t))
  await client.query(`TRUNCATE ${[...FILLED, ...topUsers].join(', ')}`)
  const indexes = await secondaryIndexes(client, FILLED)
  for (const index of indexes) await client.query(`DROP INDEX "${index.name}"`)

  const end = Date.now()
  const start = new Date(end - options.days * DAY_MS).toISOString()
  const catalog = options.catalog
  const products = [
    catalog.map((p) => p.game_id), catalog.map((p) => p.game_code), catalog.map((p) => p.game_name),
    catalog.map((p) => p.product_id), catalog.map((p) => p.product_name), catalog.map((p) => p.price)
  ]
  const chunks: Array<[number, number]> = []
  for (let low = 1; low <= options.orders; low += CHUNK_ROWS) chunks.push([low, Math.min(options.orders, low + CHUNK_ROWS - 1)])
  let written = 0
  progress(`order rows 0/${options.orders}`)
  // (the pool runs LOAD_CONNECTIONS chunks at a time and queues the rest)
  await Promise.all(chunks.map(async ([low, high]) => {
    await pool.query(`
      WITH p AS (
        SELECT k - 1 AS k, game_id, game_code, game_name, product_id, product_name, price
          FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::text[], $6::numeric[])
               WITH ORDINALITY AS p(game_id, game_code, game_name, product_id, product_name, price, k)
      ), o AS (
        SELECT i,
               greatest(1, ceil($10::int * power((hashint4(i)::bigint & 2147483647) / 2147483648.0, 2)))::int AS u,
               (hashint4(i + 1000000000)::bigint & 2147483647) % $11 AS k,
               (hashint4(i + 2000000000)::bigint & 2147483647) % 100 AS s,
               $7::timestamptz + ((i - 1)::float8 / $9) * ($8::int * interval '1 day') AS at
          FROM generate_series($12::int, $13::int) AS i
      )
      INSERT INTO order_facts (order_id, transaction_id, user_id, user_email, game_id, game_code, game_name,
                               product_id, product_name, amount, currency, status, created_at, settled_at, updated_at)
      SELECT ('00000001-0000-4000-8000-' || lpad(to_hex(o.i), 12, '0'))::uuid,
             ('00000002-0000-4000-8000-' || lpad(to_hex(o.i), 12, '0'))::uuid,
             ('00000003-0000-4000-8000-' || lpad(to_hex(o.u), 12, '0'))::uuid,
             'player' || o.u || '@bench.test',
             p.game_id, p.game_code, p.game_name, p.product_id, p.product_name, p.price, 'INR',
             CASE WHEN o.s < 70 THEN 'success' WHEN o.s < 90 THEN 'failed' ELSE 'pending' END,
             o.at,
             CASE WHEN o.s < 90 THEN o.at + interval '20 seconds' END,
             now()
        FROM o JOIN p ON p.k = o.k
       ORDER BY o.i`,
    [...products, start, options.days, options.orders, options.users, catalog.length, low, high])
    written += high - low + 1
    progress(`order rows ${written}/${options.orders}`)
  }))
  const ordersDone = Date.now()
  progress('aggregates: daily_game_product_stats, daily_user_stats')
  // (in key order, like the order rows: the primary keys grow at their right edge)
  // every order of the synthetic data keeps its product's names: max() is the newest order's name
  const byProduct = pool.query(`
    INSERT INTO daily_game_product_stats (day, game_id, product_id, game_name, product_name, names_as_of, orders, success_orders, failed_orders, revenue)
    SELECT (created_at AT TIME ZONE 'UTC')::date, game_id, product_id, max(game_name), max(product_name), max(created_at),
           count(*), count(*) FILTER (WHERE status = 'success'), count(*) FILTER (WHERE status = 'failed'),
           coalesce(sum(amount) FILTER (WHERE status = 'success'), 0)
      FROM order_facts WHERE created_at IS NOT NULL
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
  const byUser = pool.query(`
    INSERT INTO daily_user_stats (day, user_id, user_email, email_as_of, orders)
    SELECT (created_at AT TIME ZONE 'UTC')::date, user_id, max(user_email), max(created_at), count(*)
      FROM order_facts WHERE created_at IS NOT NULL
     GROUP BY 1, 2 ORDER BY 1, 2`)
  await Promise.all([byProduct, byUser])
  if (topUsers.length > 0) {
    progress('top-user lists: analytics\' rebuildTopUsers()')
    await rebuildTopUsers(databaseUrl)
  }
  const aggregatesDone = Date.now()
  progress(`indexes ${indexes.map((i) => i.name).join(', ')}`)
  await Promise.all(indexes.map(async (index) => { await pool.query(index.definition) }))
  const indexed = Date.now()
  progress('ANALYZE')
  // what autovacuum would have done by the time a table is this big: statistics for the planner,
  // and the visibility map that lets the summary's queries read the aggregates' indexes alone
  await client.query('ANALYZE order_facts')
  for (const table of [...FILLED.filter((t) => t !== 'order_facts'), ...topUsers]) await client.query(`VACUUM (ANALYZE) ${table}`)
  const analyzed = Date.now()
  const rows: Record<string, number> = {}
  for (const table of [...FILLED, ...topUsers]) {
    const counted = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)
    rows[table] = Number(counted.rows[0]?.n ?? 0)
  }
  return {
    orders: options.orders,
    users: options.users,
    days: options.days,
    ordersMs: ordersDone - started,
    aggregatesMs: aggregatesDone - ordersDone,
    indexesMs: indexed - aggregatesDone,
    analyzeMs: analyzed - indexed,
    totalMs: analyzed - started,
    rows
  }
}
