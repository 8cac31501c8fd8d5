import type { Transaction } from 'kysely'
import { makeEvent, OrderCreated } from '@topup/contracts'
import { enqueueEvent } from '@topup/messaging'
import { orderDetails, type NewOrder } from './db/orders.js'
import type { Database } from './db/schema.js'

/** OrderCreated goes into the outbox in the same transaction as the order itself. */
export async function recordOrderCreated (trx: Transaction<Database>, order: NewOrder, correlationId: string): Promise<void> {
  const event = makeEvent(OrderCreated, {
    ...orderDetails(order),
    status: 'pending',
    created_at: order.created_at.toISOString()
  }, { correlationId, occurredAt: order.created_at })
  await enqueueEvent(trx, event, OrderCreated)
}
