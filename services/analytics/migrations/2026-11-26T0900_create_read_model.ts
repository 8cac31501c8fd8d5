import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('order_facts')
    .addColumn('order_id', 'uuid', (c) => c.primaryKey())
    .addColumn('transaction_id', 'uuid', (c) => c.notNull().unique())
    .addColumn('user_id', 'uuid')
    .addColumn('user_email', 'text')
    .addColumn('game_id', 'integer')
    .addColumn('game_code', 'text')
    .addColumn('game_name', 'text')
    .addColumn('product_id', 'integer')
    .addColumn('product_name', 'text')
    .addColumn('amount', sql`numeric(12,2)`)
    .addColumn('currency', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('pending', 'success', 'failed')`))
    .addColumn('created_at', 'timestamptz')
    .addColumn('settled_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // a complete row has every field of the order
    .addCheckConstraint('order_facts_complete', sql`created_at IS NULL OR (user_id IS NOT NULL AND user_email IS NOT NULL AND game_id IS NOT NULL
      AND game_name IS NOT NULL AND product_id IS NOT NULL AND product_name IS NOT NULL AND amount IS NOT NULL AND currency IS NOT NULL)`)
    .execute()
  // the exports read in (created_at, order_id) order, all orders or the failed ones
  await db.schema.createIndex('order_facts_created').on('order_facts').columns(['created_at', 'order_id']).execute()
  await db.schema.createIndex('order_facts_failed_created').on('order_facts').columns(['created_at', 'order_id'])
    .where(sql.ref('status'), '=', 'failed').execute()

  await db.schema.createTable('daily_game_product_stats')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('game_id', 'integer', (c) => c.notNull())
    .addColumn('product_id', 'integer', (c) => c.notNull())
    // byte order ("C"): rankings and tie-breaks by name are the same on every server
    .addColumn('game_name', sql`text COLLATE "C"`, (c) => c.notNull())
    .addColumn('product_name', sql`text COLLATE "C"`, (c) => c.notNull())
    .addColumn('names_as_of', 'timestamptz', (c) => c.notNull())
    .addColumn('orders', 'integer', (c) => c.notNull().defaultTo(0).check(sql`orders >= 0`))
    .addColumn('success_orders', 'integer', (c) => c.notNull().defaultTo(0).check(sql`success_orders >= 0`))
    .addColumn('failed_orders', 'integer', (c) => c.notNull().defaultTo(0).check(sql`failed_orders >= 0`))
    .addColumn('revenue', sql`numeric(18,2)`, (c) => c.notNull().defaultTo(0).check(sql`revenue >= 0`))
    .addPrimaryKeyConstraint('daily_game_product_stats_pk', ['day', 'game_id', 'product_id'])
    .addCheckConstraint('daily_game_product_stats_counts', sql`success_orders + failed_orders <= orders`)
    .execute()

  await db.schema.createTable('daily_user_stats')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('user_email', sql`text COLLATE "C"`, (c) => c.notNull())
    .addColumn('email_as_of', 'timestamptz', (c) => c.notNull())
    .addColumn('orders', 'integer', (c) => c.notNull().defaultTo(0).check(sql`orders >= 0`))
    .addPrimaryKeyConstraint('daily_user_stats_pk', ['day', 'user_id'])
    .execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('daily_user_stats').execute()
  await db.schema.dropTable('daily_game_product_stats').execute()
  await db.schema.dropTable('order_facts').execute()
}
