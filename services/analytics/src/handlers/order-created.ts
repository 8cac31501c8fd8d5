import { OrderCreated, OrderCreatedV2, type AnyOrderCreatedEvent } from '@topup/contracts'
import { defineHandler } from '@topup/messaging'
import type { Transaction } from 'kysely'
import { notifyChange } from '../db/live.js'
import { applyOrderCreated } from '../db/read-model.js'
import type { Database } from '../db/schema.js'

/** A new order enters the read model (or completes the row its payment result started); open dashboards hear of it at commit. */
async function applyOrder (trx: Transaction<Database>, event: AnyOrderCreatedEvent): Promise<void> {
  const outcome = await applyOrderCreated(trx, event)
  if (outcome !== 'unchanged') {
    await notifyChange(trx, { kind: 'order', order_id: event.data.order_id, transaction_id: event.data.transaction_id, status: event.data.status, applied: true })
  }
}

/** OrderCreated v1, for what orders published before v2. */
export const orderCreated = defineHandler<Database, typeof OrderCreated>(OrderCreated, applyOrder)
/** OrderCreated v2 (in_game_currency as text, which the read model does not keep): the same. */
export const orderCreatedV2 = defineHandler<Database, typeof OrderCreatedV2>(OrderCreatedV2, applyOrder)
