import { OrderCreated } from '@topup/contracts'
import { defineHandlers } from '@topup/messaging'
import type { Database } from '../db/schema.js'
import { orderCreated } from './order-created.js'

/** Every event the payments service consumes, in one place. */
export function subscriptions (provider: string) {
  return defineHandlers<Database>()({
    [OrderCreated.routingKey]: orderCreated(provider)
  })
}
