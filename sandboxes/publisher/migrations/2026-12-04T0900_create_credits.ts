import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  // Every POST /v1/credits, counted per request id (the misbehaviours count calls here, so
  // the count survives a restart and is shared by every sandbox process on the database).
  // `body` is the first body sent under the id: another one is a 409, never a second credit.
  await db.schema.createTable('credit_calls')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('body', 'jsonb', (c) => c.notNull())
    .addColumn('calls', 'integer', (c) => c.notNull().check(sql`calls >= 1`))
    .addColumn('first_call_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_call_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // The outcome a request id came to, once it came to one: credited or refused. A repeat answers it.
  await db.schema.createTable('credit_outcomes')
    .addColumn('request_id', 'text', (c) => c.primaryKey().references('credit_calls.request_id'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('credited', 'refused')`))
    .addColumn('reason', 'text')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('credit_outcomes_refusal_has_reason', sql`(status = 'refused') = (reason IS NOT NULL)`)
    .execute()

  // The ledger: one row per credit actually made, at most one per request id.
  await db.schema.createTable('credits')
    .addColumn('seq', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('credit_id', 'uuid', (c) => c.notNull().unique())
    .addColumn('request_id', 'text', (c) => c.notNull().unique().references('credit_outcomes.request_id'))
    .addColumn('player_id', 'text', (c) => c.notNull())
    .addColumn('server', 'text')
    .addColumn('amount', 'text', (c) => c.notNull())
    .addColumn('order_id', 'text')
    .addColumn('credited_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('credits_player').on('credits').columns(['player_id', 'seq']).execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('credits').execute()
  await db.schema.dropTable('credit_outcomes').execute()
  await db.schema.dropTable('credit_calls').execute()
}
