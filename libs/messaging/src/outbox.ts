import { sql, type ColumnType, type Generated, type Kysely, type Transaction } from 'kysely'
import { assertEvent, contractForRoutingKey, EventValidationError, type EventContract, type EventEnvelope } from '@topup/contracts'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

/** The PostgreSQL channel `enqueueEvent` notifies (in the caller's transaction) to wake the relay. */
export const OUTBOX_NOTIFY_CHANNEL = 'topup_outbox'

/** Events waiting to be published (docs/DESIGN.md §4.1). Add `outbox: OutboxTable` to the service's Database. */
export interface OutboxTable {
  /** Publication order. */
  id: Generated<string>
  event_id: string
  type: string
  version: number
  routing_key: string
  correlation_id: string
  /** The whole event envelope. */
  payload: ColumnType<unknown, string, string>
  created_at: Timestamp
  /** Null until the broker confirmed it. */
  sent_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** Failed publish attempts, and the last failure. */
  attempts: Generated<number>
  last_error: string | null
}

/** Events this service has applied (docs/DESIGN.md §4.2). Add `inbox: InboxTable` to the service's Database. */
export interface InboxTable {
  event_id: string
  type: string
  routing_key: string
  received_at: Timestamp
}

export interface OutboxDatabase { outbox: OutboxTable }
export interface InboxDatabase { inbox: InboxTable }

/**
 * The outbox table as the library expects it (its own tests use this). A
 * service's migration keeps its own copy of the definition, frozen in time
 * (docs/CONVENTIONS.md): a change here must come with a new migration.
 */
export async function createOutboxTable (db: Kysely<unknown>): Promise<void> {
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
}

/** The inbox table as the library expects it (its own tests use this; migrations keep their own copy). */
export async function createInboxTable (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('inbox')
    .addColumn('event_id', 'uuid', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('routing_key', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

/**
 * Records an event to publish, in the caller's business transaction: it goes
 * out (via the relay) if and only if the transaction commits. The event is
 * validated strictly against its contract first (`EventValidationError`).
 * `target` is the contract or its routing key.
 */
export async function enqueueEvent<DB extends OutboxDatabase> (
  trx: Transaction<DB>,
  event: EventEnvelope,
  target: string | EventContract
): Promise<void> {
  const contract = typeof target === 'string' ? contractForRoutingKey(target) : target
  if (contract === undefined) {
    throw new EventValidationError(`an event for routing key "${String(target)}"`, [{ path: '', message: `no contract for routing key "${String(target)}"` }])
  }
  const valid = assertEvent(contract, event)
  const db = trx as unknown as Transaction<OutboxDatabase>
  // the row and the notification in one statement (one round trip fewer per event);
  // the notification is delivered at commit (and only then), to every listening relay
  await db.with('queued', (q) => q.insertInto('outbox').values({
    event_id: valid.id,
    type: valid.type,
    version: valid.version,
    routing_key: contract.routingKey,
    correlation_id: valid.correlation_id,
    payload: JSON.stringify(valid),
    last_error: null
  }).returning('event_id'))
    .selectFrom('queued')
    .select(sql<string>`pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '')`.as('notified'))
    .execute()
}

/** Deletes events published more than `olderThanMs` ago (housekeeping); returns how many. */
export async function pruneSentEvents<DB extends OutboxDatabase> (db: Kysely<DB>, olderThanMs: number): Promise<number> {
  const outbox = db as unknown as Kysely<OutboxDatabase>
  const result = await outbox.deleteFrom('outbox')
    .where('sent_at', 'is not', null)
    .where('sent_at', '<', new Date(Date.now() - olderThanMs))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/**
 * Deletes inbox entries older than `olderThanMs` (housekeeping); returns how
 * many. Keep them far longer than any redelivery can take: they are what
 * makes a duplicate harmless.
 */
export async function pruneInbox<DB extends InboxDatabase> (db: Kysely<DB>, olderThanMs: number): Promise<number> {
  const inbox = db as unknown as Kysely<InboxDatabase>
  const cutoff = new Date(Date.now() - olderThanMs)
  const result = await inbox.deleteFrom('inbox').where(sql<boolean>`received_at < ${cutoff}`).executeTakeFirst()
  return Number(result.numDeletedRows)
}
