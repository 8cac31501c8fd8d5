import type { Transaction } from 'kysely'
import { makeEvent, PaymentStatusChanged } from '@topup/contracts'
import { enqueueEvent } from '@topup/messaging'
import type { TransactionRow } from './db/transactions.js'
import type { Database, PaymentStatus } from './db/schema.js'

/** PaymentStatusChanged goes into the outbox in the same transaction as the transition. */
export async function recordPaymentStatusChanged (trx: Transaction<Database>, row: TransactionRow, previous: PaymentStatus, provider: string, correlationId: string): Promise<void> {
  if (row.status === 'pending') throw new Error('a pending transaction has no status change to announce')
  const event = makeEvent(PaymentStatusChanged, {
    transaction_id: row.transaction_id,
    order_id: row.order_id,
    status: row.status,
    previous_status: previous,
    amount: row.amount,
    currency: row.currency,
    provider,
    changed_at: row.updated_at.toISOString()
  }, { correlationId, occurredAt: row.updated_at })
  await enqueueEvent(trx, event, PaymentStatusChanged)
}
