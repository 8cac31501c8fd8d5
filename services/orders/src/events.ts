import type { Transaction } from 'kysely'
import { makeEvent, OrderCreatedV2 } from '@topup/contracts'
import { enqueueEvent } from '@topup/messaging'
import { orderDetails, type NewOrder } from './db/orders.js'
import type { Database } from './db/schema.js'

/** OrderCreated (v2: in_game_currency as text) goes into the outbox in the same transaction as the order itself. */
export async function recordOrderCreated (trx: Transaction<Database>, order: NewOrder, correlationId: string): Promise<void> {
  const event = makeEvent(OrderCreatedV2, {
    ...orderDetails(order),
    status: 'pending',
    created_at: order.created_at.toISOString()
  }, { correlationId, occurredAt: order.created_at })
  await enqueueEvent(trx, event, OrderCreatedV2)
}
