import { PaymentStatusChanged } from '@topup/contracts'
import { defineHandler } from '@topup/messaging'
import { notifyChange } from '../db/live.js'
import { applyPaymentStatus } from '../db/read-model.js'
import type { Database } from '../db/schema.js'
import { recordStatusChange } from '../db/timeline.js'

/**
 * The order's status follows its payment, forward only. A result that comes
 * before its OrderCreated is kept on a partial row; a late or contradicting
 * one changes nothing, but is kept in the order's timeline (for support) all
 * the same. Open dashboards hear of it at commit.
 */
export const paymentStatusChanged = defineHandler<Database, typeof PaymentStatusChanged>(PaymentStatusChanged, async (trx, event) => {
  const outcome = await applyPaymentStatus(trx, event)
  const applied = outcome !== 'unchanged'
  await recordStatusChange(trx, event, applied)
  // told even when it moved nothing: the order's timeline grew (a lookup on screen shows it)
  await notifyChange(trx, { kind: 'payment', order_id: event.data.order_id, transaction_id: event.data.transaction_id, status: event.data.status, applied })
})
