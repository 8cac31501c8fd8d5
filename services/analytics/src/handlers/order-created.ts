import { OrderCreated } from '@topup/contracts'
import { defineHandler } from '@topup/messaging'
import { notifyChange } from '../db/live.js'
import { applyOrderCreated } from '../db/read-model.js'
import type { Database } from '../db/schema.js'

/** A new order enters the read model (or completes the row its payment result started); open dashboards hear of it at commit. */
export const orderCreated = defineHandler<Database, typeof OrderCreated>(OrderCreated, async (trx, event) => {
  const outcome = await applyOrderCreated(trx, event)
  if (outcome !== 'unchanged') {
    await notifyChange(trx, { kind: 'order', order_id: event.data.order_id, transaction_id: event.data.transaction_id, status: event.data.status, applied: true })
  }
})
