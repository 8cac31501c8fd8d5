import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { claimStalePending, moveLockedTransaction } from '../db/transactions.js'
import { recordPaymentStatusChanged } from '../events.js'

export interface ExpireOptions {
  /** A pending transaction recorded longer ago than this is expired (PAYMENT_EXPIRY_MINUTES; fractions allowed). */
  olderThanMinutes: number
  /** Transactions claimed (and locked) by one database transaction. */
  limit: number
}

/** One expired transaction, as the sweep logs it. */
export interface ExpiredPayment {
  transactionId: string
  orderId: string
  /** The correlation id of its PaymentStatusChanged. */
  correlationId: string
}

/**
 * The correlation id of an expiry's event for a transaction from before
 * correlation ids were kept (the others carry their order's, so the expiry
 * joins the order's trace): no request caused it, and a transaction expires
 * at most once, so its own id names the story.
 */
export function expiryCorrelationId (transactionId: string): string {
  return `expiry-${transactionId}`
}

/**
 * Expires one batch of stuck payments: up to `limit` pending transactions
 * recorded more than `olderThanMinutes` ago become failed with
 * failure_reason `expired`, each through the same transition as a webhook's
 * failure (moveLockedTransaction) with its PaymentStatusChanged (status
 * failed) in the outbox, all in the one database transaction that claimed
 * them. Rows are claimed `FOR UPDATE SKIP LOCKED`: several instances sweeping
 * at once share the rows and never expire one twice, and a webhook settling a
 * row at that moment keeps it (the next sweep no longer sees it pending);
 * a webhook that comes while the sweep holds the row waits for the commit and
 * then finds it failed (§2.2: a success is a 409). Returns what it expired,
 * committed.
 */
export async function expireStalePayments (db: Kysely<Database>, options: ExpireOptions): Promise<ExpiredPayment[]> {
  if (!(options.olderThanMinutes > 0)) throw new RangeError('olderThanMinutes must be positive')
  if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError('limit must be a positive integer')
  return await db.transaction().execute(async (trx) => {
    const stale = await claimStalePending(trx, options.olderThanMinutes * 60, options.limit)
    const at = new Date()
    const expired: ExpiredPayment[] = []
    for (const row of stale) {
      const moved = await moveLockedTransaction(trx, row, 'failed', at, 'expired')
      const correlationId = row.correlation_id ?? expiryCorrelationId(row.transaction_id)
      // the provider the transaction was opened with (PAYMENT_PROVIDER when its order arrived)
      await recordPaymentStatusChanged(trx, moved.row, moved.previous, row.provider, correlationId)
      expired.push({ transactionId: row.transaction_id, orderId: row.order_id, correlationId })
    }
    return expired
  })
}

export interface SweepOptions extends ExpireOptions {
  /** Asked between batches: true ends the sweep early (the app is closing). */
  stopping?: () => boolean
  /** Called after each committed batch with what it expired. */
  onExpired?: (expired: ExpiredPayment[]) => void
}

/**
 * One sweep: batches of expireStalePayments until a batch comes back short
 * (nothing stale is left that no one else holds) or `stopping()` says so.
 * Returns how many it expired.
 */
export async function sweepStalePayments (db: Kysely<Database>, options: SweepOptions): Promise<number> {
  let total = 0
  for (;;) {
    const expired = await expireStalePayments(db, options)
    total += expired.length
    if (expired.length > 0) options.onExpired?.(expired)
    if (expired.length < options.limit || options.stopping?.() === true) return total
  }
}
