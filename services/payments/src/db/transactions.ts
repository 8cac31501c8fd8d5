import type { Insertable, Kysely, Selectable, Transaction } from 'kysely'
import type { Database, PaymentStatus, TransactionsTable } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>
export type TransactionRow = Selectable<TransactionsTable>

/** Records the pending transaction of a new order; a repeat of the same order changes nothing. */
export async function insertPendingTransaction (db: Db, tx: Omit<Insertable<TransactionsTable>, 'status' | 'updated_at'> & { created_at: Date }): Promise<boolean> {
  const inserted = await db.insertInto('transactions').values({ ...tx, status: 'pending', updated_at: tx.created_at })
    .onConflict((oc) => oc.column('transaction_id').doNothing()).returning('transaction_id').executeTakeFirst()
  return inserted !== undefined
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
