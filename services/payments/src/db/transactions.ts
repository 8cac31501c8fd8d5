import type { Insertable, Kysely, Selectable, Transaction } from 'kysely'
import type { Database, PaymentStatus, TransactionsTable } from './schema.js'

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
 * pending → success | failed, under a row lock: concurrent calls for one
 * transaction queue here and exactly one of them makes the transition.
 */
export async function settleTransaction (trx: Transaction<Database>, transactionId: string, status: 'success' | 'failed', at: Date): Promise<Settlement> {
  const row = await trx.selectFrom('transactions').selectAll().where('transaction_id', '=', transactionId).forUpdate().executeTakeFirst()
  if (row === undefined) return { kind: 'missing' }
  if (row.status === status) return { kind: 'unchanged', row }
  if (row.status !== 'pending') return { kind: 'conflict', row }
  const updated = await trx.updateTable('transactions').set({ status, updated_at: at })
    .where('transaction_id', '=', transactionId).returningAll().executeTakeFirstOrThrow()
  return { kind: 'settled', row: updated, previous: row.status }
}

export async function findTransaction (db: Db, transactionId: string): Promise<TransactionRow | undefined> {
  return await db.selectFrom('transactions').selectAll().where('transaction_id', '=', transactionId).executeTakeFirst()
}
