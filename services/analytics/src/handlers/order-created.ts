import { OrderCreated } from '@topup/contracts'
import { defineHandler } from '@topup/messaging'
import { applyOrderCreated } from '../db/read-model.js'
import type { Database } from '../db/schema.js'

/** A new order enters the read model (or completes the row its payment result started). */
export const orderCreated = defineHandler<Database, typeof OrderCreated>(OrderCreated, async (trx, event) => {
  await applyOrderCreated(trx, event)
})
