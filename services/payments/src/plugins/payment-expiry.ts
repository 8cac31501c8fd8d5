import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { SettledCounter } from '../metrics.js'
import { sweepStalePayments } from '../payments/expire-payments.js'

export interface PaymentExpiryOptions {
  /** PAYMENT_EXPIRY_MINUTES: the age at which a pending transaction expires. */
  olderThanMinutes: number
  /** PAYMENT_EXPIRY_SWEEP_SECONDS: the pause between two sweeps of this instance; 0 = this instance never sweeps. */
  everySeconds: number
  /** Transactions per database transaction (default 100). */
  batchSize?: number
  /** Counts each expiry (status failed, reason expired). */
  settled?: SettledCounter
}

/**
 * The expiry sweep (issue 12): once the app is ready, and then every
 * `everySeconds` after the previous sweep ended (a timer chained from one
 * sweep to the next, so one instance never runs two at once), stuck payments
 * expire through expireStalePayments. Every instance runs it: the rows are
 * claimed FOR UPDATE SKIP LOCKED, so instances share them and none is expired
 * twice. A failing sweep (the database away) is logged and tried again at the
 * next tick. On close the timer stops and a sweep in flight ends after its
 * current batch, before the database closes.
 */
export default fp(async function paymentExpiry (app: FastifyInstance, options: PaymentExpiryOptions) {
  const log = app.log.child({ component: 'payment-expiry' })
  const batchSize = options.batchSize ?? 100
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> | undefined
  let closing = false

  const sweep = async (): Promise<void> => {
    try {
      await sweepStalePayments(app.db, {
        olderThanMinutes: options.olderThanMinutes,
        limit: batchSize,
        stopping: () => closing,
        onExpired: (expired) => {
          // one line per transaction, after its batch committed: what the log says happened did
          for (const e of expired) {
            log.info({ transactionId: e.transactionId, orderId: e.orderId, correlation_id: e.correlationId, olderThanMinutes: options.olderThanMinutes }, 'pending payment expired')
          }
          options.settled?.inc({ status: 'failed', reason: 'expired' }, expired.length)
        }
      })
    } catch (err) {
      log.warn({ reason: (err as Error).message }, 'payment expiry sweep failed; will retry')
    }
  }

  const schedule = (delayMs: number): void => {
    if (closing) return
    timer = setTimeout(() => {
      inFlight = sweep().finally(() => {
        inFlight = undefined
        schedule(options.everySeconds * 1000)
      })
    }, delayMs)
    timer.unref()
  }

  if (options.everySeconds === 0) {
    log.info('payment expiry sweep off on this instance (PAYMENT_EXPIRY_SWEEP_SECONDS=0)')
    return
  }
  // the first sweep right away: an instance started after an outage catches up at once
  app.addHook('onReady', async () => { schedule(0) })
  // preClose: before any onClose hook, so the database is still open while the sweep finishes its batch
  app.addHook('preClose', async () => {
    closing = true
    clearTimeout(timer)
    await inFlight
  })
}, { name: 'payment-expiry', dependencies: ['service-infrastructure'] })
