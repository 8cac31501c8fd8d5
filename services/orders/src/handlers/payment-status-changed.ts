import { PaymentStatusChanged } from '@topup/contracts'
import { defineHandler } from '@topup/messaging'
import { applyPaymentStatus } from '../db/orders.js'
import type { Database } from '../db/schema.js'

/**
 * The order follows its payment, forward only: a late or repeated result
 * changes nothing. An unknown transaction cannot happen here (orders made
 * it); if it does, the error sends the message back and, in the end, to the
 * dead-letter queue for an operator.
 */
export const paymentStatusChanged = defineHandler<Database, typeof PaymentStatusChanged>(PaymentStatusChanged, async (trx, event) => {
  const outcome = await applyPaymentStatus(trx, event.data.transaction_id, event.data.status, new Date(event.data.changed_at))
  if (outcome === 'missing') throw new Error(`no order has transaction ${event.data.transaction_id}`)
})
