import { sql, type Kysely } from 'kysely'

/**
 * Frozen in time: the outbox and inbox as @topup/messaging defined them when
 * this shipped (createOutboxTable/createInboxTable), copied here so that a
 * change to the library never rewrites this service's history.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'uuid', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('routing_key', 'text', (c) => c.notNull())
    .addColumn('correlation_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .execute()
  // the relay's scan: unsent rows in order, whatever the size of the sent history
  await db.schema.createIndex('outbox_unsent').on('outbox').column('id').where(sql.ref('sent_at'), 'is', null).execute()
  await db.schema.createIndex('outbox_sent_at').on('outbox').column('sent_at').where(sql.ref('sent_at'), 'is not', null).execute()

  await db.schema.createTable('inbox')
    .addColumn('event_id', 'uuid', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('routing_key', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('inbox').ifExists().execute()
  await db.schema.dropTable('outbox').ifExists().execute()
}
