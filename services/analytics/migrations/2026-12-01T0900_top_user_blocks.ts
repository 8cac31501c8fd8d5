import { sql, type Kysely } from 'kysely'

/**
 * Per-block lists of the most active users (src/db/top-users.ts explains
 * them): the dashboard's "most active users" no longer sums daily_user_stats
 * (about one row per order) over the range.
 *
 * Frozen in time: the block levels (0..8: 1 to 256 days) and the list size
 * (32) are written here as they were when this shipped, and the backfill is
 * this file's own SQL, not the service's code.
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

  // backfill: the exact top LIST_SIZE of every block that has orders, the bound being the next user's count
  await sql`SET LOCAL work_mem = '256MB'`.execute(db)
  for (let level = 0; level <= TOP_LEVEL; level++) {
    await sql`
      WITH counts AS (
        SELECT ((day - DATE '1970-01-01') >> ${sql.lit(level)}) AS block, user_id, sum(orders)::int AS orders
          FROM daily_user_stats GROUP BY 1, 2
      ), ranked AS (
        SELECT block, user_id, orders, row_number() OVER (PARTITION BY block ORDER BY orders DESC, user_id) AS rank FROM counts
      ), lists AS (
        INSERT INTO top_user_lists (level, block, user_id, orders)
        SELECT ${sql.lit(level)}, block, user_id, orders FROM ranked WHERE rank <= ${sql.lit(LIST_SIZE)}
      )
      INSERT INTO top_user_bounds (level, block, bound)
      SELECT ${sql.lit(level)}, block, max(orders) FROM ranked WHERE rank > ${sql.lit(LIST_SIZE)} GROUP BY block`.execute(db)
  }
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('daily_user_stats_user_day').execute()
  await db.schema.dropTable('top_user_bounds').execute()
  await db.schema.dropTable('top_user_lists').execute()
}
