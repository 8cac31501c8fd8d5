import { OrderCreated, OrderCreatedV2, PaymentStatusChanged } from '@topup/contracts'
import { defineHandlers } from '@topup/messaging'
import type { Database } from '../db/schema.js'
import { orderCreated, orderCreatedV2 } from './order-created.js'
import { paymentStatusChanged } from './payment-status-changed.js'

/** Every event the analytics service consumes, in one place. */
export const subscriptions = defineHandlers<Database>()({
  [OrderCreated.routingKey]: orderCreated,
  [OrderCreatedV2.routingKey]: orderCreatedV2,
  [PaymentStatusChanged.routingKey]: paymentStatusChanged
})
