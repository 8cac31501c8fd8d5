import { PaymentStatusChanged } from '@topup/contracts'
import { defineHandler } from '@topup/messaging'
import { applyPaymentStatus } from '../db/read-model.js'
import type { Database } from '../db/schema.js'

/**
 * The order's status follows its payment, forward only. A result that comes
 * before its OrderCreated is kept on a partial row; a late or contradicting
 * one changes nothing.
 */
export const paymentStatusChanged = defineHandler<Database, typeof PaymentStatusChanged>(PaymentStatusChanged, async (trx, event) => {
  await applyPaymentStatus(trx, event)
})
