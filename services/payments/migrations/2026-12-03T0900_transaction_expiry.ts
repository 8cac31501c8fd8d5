import { sql, type Kysely } from 'kysely'

/**
 * Stuck payments expire (docs/DESIGN.md §2.2, issue 12): a pending
 * transaction whose webhook never came is failed by payments' own sweep.
 *
 * - `recorded_at`: when payments recorded the pending transaction (its
 *   OrderCreated arrived). The sweep measures age from here, not from the
 *   order's `created_at`, which is backdated in development and older than
 *   the transaction itself when events were delayed: a transaction is never
 *   expired before the provider had the whole window to report on it.
 *   Existing rows get the time of this migration (their window starts now).
 * - `failure_reason`: why a failed transaction failed when it was not the
 *   provider who said so (`expired`); null otherwise. Only a failed row has one.
 * - the sweep's scan: pending rows by age, whatever the size of the settled history.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('transactions')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.alterTable('transactions').addColumn('failure_reason', 'text').execute()
  await db.schema.alterTable('transactions')
    .addCheckConstraint('transactions_failure_reason_only_failed', sql`failure_reason IS NULL OR status = 'failed'`)
    .execute()
  await db.schema.createIndex('transactions_pending_recorded_at').on('transactions').column('recorded_at')
    .where(sql.ref('status'), '=', 'pending').execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('transactions_pending_recorded_at').ifExists().execute()
  await db.schema.alterTable('transactions').dropConstraint('transactions_failure_reason_only_failed').execute()
  await db.schema.alterTable('transactions').dropColumn('failure_reason').execute()
  await db.schema.alterTable('transactions').dropColumn('recorded_at').execute()
}
