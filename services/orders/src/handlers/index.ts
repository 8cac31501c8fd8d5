import { PaymentStatusChanged } from '@topup/contracts'
import { defineHandlers } from '@topup/messaging'
import type { Database } from '../db/schema.js'
import { paymentStatusChanged } from './payment-status-changed.js'

/** Every event the orders service consumes, in one place. */
export const subscriptions = defineHandlers<Database>()({
  [PaymentStatusChanged.routingKey]: paymentStatusChanged
})
