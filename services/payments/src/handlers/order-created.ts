import { OrderCreated, OrderCreatedV2, type AnyOrderCreatedEvent } from '@topup/contracts'
import { defineHandler } from '@topup/messaging'
import type { Transaction } from 'kysely'
import { insertPendingTransaction } from '../db/transactions.js'
import type { Database } from '../db/schema.js'

/** A new order opens its pending transaction; the same order again changes nothing. Both versions of OrderCreated carry what it reads. */
export function orderCreated (provider: string) {
  return {
    v1: defineHandler<Database, typeof OrderCreated>(OrderCreated, async (trx, event) => { await openTransaction(trx, event, provider) }),
    v2: defineHandler<Database, typeof OrderCreatedV2>(OrderCreatedV2, async (trx, event) => { await openTransaction(trx, event, provider) })
  }
}

async function openTransaction (trx: Transaction<Database>, event: AnyOrderCreatedEvent, provider: string): Promise<void> {
  const { data } = event
  await insertPendingTransaction(trx, {
    transaction_id: data.transaction_id,
    order_id: data.order_id,
    user_id: data.user_id,
    amount: data.amount,
    currency: data.currency,
    provider,
    // the top-up request's id: the events this transaction causes later carry it on
    correlation_id: event.correlation_id,
    created_at: new Date(data.created_at)
  })
}
