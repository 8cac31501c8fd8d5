import { sql, type Kysely } from 'kysely'

/**
 * Two things the dashboard needed:
 *
 * - `read_model_settings`, one row: the IANA time zone whose calendar days key
 *   the per-day aggregates (daily_game_product_stats, daily_user_stats and the
 *   top-user blocks). Every aggregate written before this migration was keyed
 *   by UTC days, so the row starts as 'UTC'; src/db/business-days.ts changes it
 *   (and recomputes the aggregates) when BUSINESS_TIMEZONE changes.
 * - `order_status_changes`: every PaymentStatusChanged the read model applied
 *   (moved the order or not), for the support lookup's timeline. Orders already
 *   settled get one row from what order_facts knows (status and settled_at; the
 *   provider and the event id were not kept before this).
 *
 * And an index for looking orders up by e-mail (newest first).
 *
 * Frozen in time: plain SQL of the day it shipped, nothing imported but kysely.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('read_model_settings')
    // one row: a boolean key that can only be true
    .addColumn('singleton', 'boolean', (c) => c.primaryKey().defaultTo(true).check(sql`singleton`))
    .addColumn('business_timezone', 'text', (c) => c.notNull())
    .addColumn('days_rebuilt_at', 'timestamptz')
    .execute()
  await sql`INSERT INTO read_model_settings (singleton, business_timezone) VALUES (true, 'UTC')`.execute(db)

  await db.schema.createTable('order_status_changes')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('order_id', 'uuid', (c) => c.notNull())
    .addColumn('transaction_id', 'uuid', (c) => c.notNull())
    // 'payment' today; a delivery status would be another kind (and a migration widening this check)
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('payment')`))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('previous_status', 'text')
    .addColumn('provider', 'text')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    // the event that reported it (null for the rows backfilled from order_facts)
    .addColumn('event_id', 'uuid', (c) => c.unique())
    // whether it moved the order (false: a late, repeated or contradicting result, kept for support)
    .addColumn('applied', 'boolean', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('order_status_changes_order').on('order_status_changes').columns(['order_id', 'occurred_at', 'id']).execute()
  await sql`INSERT INTO order_status_changes (order_id, transaction_id, kind, status, previous_status, provider, occurred_at, event_id, applied)
    SELECT order_id, transaction_id, 'payment', status, 'pending', NULL, settled_at, NULL, true
      FROM order_facts WHERE status <> 'pending' AND settled_at IS NOT NULL`.execute(db)

  await db.schema.createIndex('order_facts_user_email').on('order_facts').columns(['user_email', 'created_at desc']).execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('order_facts_user_email').execute()
  await db.schema.dropTable('order_status_changes').execute()
  await db.schema.dropTable('read_model_settings').execute()
}
