import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely'
import type { Database, FailureReason, PaymentStatus, TransactionsTable } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>
export type TransactionRow = Selectable<TransactionsTable>

/**
 * Records the pending transaction of a new order; a repeat of the same order
 * changes nothing. The insert does nothing on a conflict with either unique key
 * (transaction_id, order_id): with transaction_id alone as the target, two
 * copies of one order racing each other fail on order_id instead. A row that
 * pairs either id with another breaks the contract: an error, so the event is
 * retried and dead-lettered rather than dropped.
 */
export async function insertPendingTransaction (db: Db, tx: Omit<Insertable<TransactionsTable>, 'status' | 'updated_at'> & { created_at: Date }): Promise<boolean> {
  const inserted = await db.insertInto('transactions').values({ ...tx, status: 'pending', updated_at: tx.created_at })
    .onConflict((oc) => oc.doNothing()).returning('transaction_id').executeTakeFirst()
  if (inserted !== undefined) return true
  const existing = await db.selectFrom('transactions').select('order_id').where('transaction_id', '=', tx.transaction_id).executeTakeFirst()
  if (existing?.order_id !== tx.order_id) {
    throw new Error(`order ${tx.order_id} and transaction ${tx.transaction_id} conflict with another pair already recorded`)
  }
  return false
}

export type Settlement =
  | { kind: 'missing' }
  | { kind: 'unchanged', row: TransactionRow }
  | { kind: 'conflict', row: TransactionRow }
  | { kind: 'settled', row: TransactionRow, previous: PaymentStatus }

/**
 * The one transition a transaction makes, pending → success | failed, of a
 * row the caller holds locked (`FOR UPDATE`): the webhook's settlement and
 * the expiry sweep both move a row only through here. `failureReason` says
 * why when payments failed it itself (`expired`).
 */
export async function moveLockedTransaction (trx: Transaction<Database>, locked: TransactionRow, status: 'success' | 'failed', at: Date, failureReason: FailureReason | null = null): Promise<Settlement & { kind: 'settled' }> {
  if (locked.status !== 'pending') throw new Error(`transaction ${locked.transaction_id} is ${locked.status}: only a pending one moves`)
  if (failureReason !== null && status !== 'failed') throw new Error('only a failure has a failure reason')
  const updated = await trx.updateTable('transactions').set({ status, updated_at: at, failure_reason: failureReason })
    .where('transaction_id', '=', locked.transaction_id).where('status', '=', 'pending').returningAll().executeTakeFirstOrThrow()
  return { kind: 'settled', row: updated, previous: locked.status }
}

/**
 * pending → success | failed, under a row lock: concurrent calls for one
 * transaction queue here and exactly one of them makes the transition (an
 * expiry sweep holding the row makes the call wait, then see it failed).
 */
export async function settleTransaction (trx: Transaction<Database>, transactionId: string, status: 'success' | 'failed', at: Date): Promise<Settlement> {
  const row = await trx.selectFrom('transactions').selectAll().where('transaction_id', '=', transactionId).forUpdate().executeTakeFirst()
  if (row === undefined) return { kind: 'missing' }
  if (row.status === status) return { kind: 'unchanged', row }
  if (row.status !== 'pending') return { kind: 'conflict', row }
  return await moveLockedTransaction(trx, row, status, at)
}

/**
 * Claims up to `limit` pending transactions recorded more than
 * `olderThanSeconds` ago (database clock, oldest first), locked for the
 * caller's transaction. `SKIP LOCKED`: rows another sweep or a webhook holds
 * are left to it, so concurrent sweeps share the work and never claim one
 * row twice; a row settled meanwhile is no longer pending when the lock is
 * taken (PostgreSQL re-checks the condition on the row's newest version).
 */
export async function claimStalePending (trx: Transaction<Database>, olderThanSeconds: number, limit: number): Promise<TransactionRow[]> {
  return await trx.selectFrom('transactions').selectAll()
    .where('status', '=', 'pending')
    .where('recorded_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanSeconds})`)
    .orderBy('recorded_at').orderBy('transaction_id')
    .limit(limit)
    .forUpdate().skipLocked()
    .execute()
}

export async function findTransaction (db: Db, transactionId: string): Promise<TransactionRow | undefined> {
  return await db.selectFrom('transactions').selectAll().where('transaction_id', '=', transactionId).executeTakeFirst()
}
