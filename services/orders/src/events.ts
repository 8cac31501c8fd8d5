import type { Transaction } from 'kysely'
import { makeEvent, OrderCreated } from '@topup/contracts'
import { enqueueEvent } from '@topup/messaging'
import type { NewOrder } from './db/orders.js'
import type { Database } from './db/schema.js'


/** OrderCreated goes into the outbox in the same transaction as the order itself. */
export async function recordOrderCreated (trx: Transaction<Database>, order: NewOrder, correlationId: string): Promise<void> {
  const event = makeEvent(OrderCreated, {
    order_id: order.id,
    transaction_id: order.transaction_id,
    user_id: order.user_id,
    user_email: order.user_email,
    game: { id: order.game_id, code: order.game_code, name: order.game_name },
    product: { id: order.product_id, name: order.product_name, in_game_currency: order.in_game_currency },
    amount: order.amount,
    currency: order.currency,
    status: 'pending',
    created_at: order.created_at.toISOString()
  }, { correlationId, occurredAt: order.created_at })
  await enqueueEvent(trx, event, OrderCreated)
}
