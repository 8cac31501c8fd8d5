import { sql, type Kysely } from 'kysely'

/**
 * Analytics only consumes: an inbox, no outbox. Frozen in time: the inbox as
 * @topup/messaging defined it when this shipped (createInboxTable), copied
 * here so that a change to the library never rewrites this service's history.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('inbox')
    .addColumn('event_id', 'uuid', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('routing_key', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('inbox').ifExists().execute()
}
