import { sql, type Kysely } from 'kysely'

/**
 * Webhook secret rotation (issue 12): which of the two accepted secrets
 * verified a call (`current` = PAYMENT_WEBHOOK_SECRET, `previous` =
 * PAYMENT_WEBHOOK_SECRET_PREVIOUS), so an operator sees when the provider has
 * switched. Null for a call whose signature did not verify; existing rows
 * predate rotation (null).
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_calls')
    .addColumn('matched_secret', 'text', (c) => c.check(sql`matched_secret IN ('current', 'previous')`))
    .execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_calls').dropColumn('matched_secret').execute()
}
