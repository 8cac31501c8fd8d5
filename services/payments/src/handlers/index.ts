import { OrderCreated, OrderCreatedV2 } from '@topup/contracts'
import { defineHandlers } from '@topup/messaging'
import type { Database } from '../db/schema.js'
import { orderCreated } from './order-created.js'

/** Every event the payments service consumes, in one place. */
export function subscriptions (provider: string) {
  const opened = orderCreated(provider)
  return defineHandlers<Database>()({
    // v1 for what orders published before it moved to v2 (in_game_currency as text)
    [OrderCreated.routingKey]: opened.v1,
    [OrderCreatedV2.routingKey]: opened.v2
  })
}
