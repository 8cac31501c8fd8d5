import type { Kysely } from 'kysely'
import { recordWebhookCall, webhookCallRow, type ReceivedCall } from '../db/audit.js'
import type { Database, MatchedSecret } from '../db/schema.js'
import { settleTransaction, type Settlement, type TransactionRow } from '../db/transactions.js'
import { recordPaymentStatusChanged } from '../events.js'

export interface SettlePayment {
  transactionId: string
  status: 'success' | 'failed'
  /** Who confirmed it (PAYMENT_PROVIDER), carried by PaymentStatusChanged. */
  provider: string
  at: Date
  /** The signed call that asks for it: recorded with the move when there is one. */
  call: ReceivedCall
  /** Which webhook secret verified that call (the audit's matched_secret). */
  secret?: MatchedSecret
}

/** An expired transaction says so in the audit of every later call: the provider reported on it too late. */
function expired (row: TransactionRow): string {
  return row.failure_reason === 'expired' ? ' (expired)' : ''
}

/** The audit's outcome of a settlement: what happened to the transaction. */
export function outcomeOf (settlement: Settlement, status: SettlePayment['status']): string {
  switch (settlement.kind) {
    case 'missing': return 'unknown transaction'
    case 'conflict': return `already ${settlement.row.status}${expired(settlement.row)}`
    case 'unchanged': return `repeat of the current status${expired(settlement.row)}`
    case 'settled': return `pending → ${status}`
  }
}

/**
 * Settles a payment the provider confirmed, in one transaction: the row moves
 * forward only (pending → success | failed, under its lock, so concurrent
 * calls make one move), its PaymentStatusChanged goes into the outbox, and
 * the call that moved it is recorded in webhook_calls with the move (a
 * process killed after the commit cannot leave a settlement without its
 * call). Anything else (unknown, repeated, the other final status) changes
 * nothing; the caller records that call once it has answered.
 */
export async function settlePayment (db: Kysely<Database>, payment: SettlePayment): Promise<Settlement> {
  return await db.transaction().execute(async (trx) => {
    const settlement = await settleTransaction(trx, payment.transactionId, payment.status, payment.at)
    if (settlement.kind === 'settled') {
      // the order's trace when the transaction has one (the top-up's request id), else this call's
      await recordPaymentStatusChanged(trx, settlement.row, settlement.previous, payment.provider, settlement.row.correlation_id ?? payment.call.requestId)
      const audit = { signatureValid: true, transactionId: payment.transactionId, status: payment.status, outcome: outcomeOf(settlement, payment.status), ...(payment.secret === undefined ? {} : { secret: payment.secret }) }
      await recordWebhookCall(trx, webhookCallRow(payment.call, audit, 200))
    }
    return settlement
  })
}
