import type { Kysely } from 'kysely'

/**
 * One trace per order (issue 12): the correlation id of the OrderCreated that
 * opened a transaction (the top-up request's id), kept so that the
 * PaymentStatusChanged payments publishes later, from a webhook or an
 * expiry, carries the same one. Rows from before have none (null): their
 * events keep the settling call's own id.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('transactions').addColumn('correlation_id', 'text').execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('transactions').dropColumn('correlation_id').execute()
}
