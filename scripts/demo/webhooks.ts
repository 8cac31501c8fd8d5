/** The payment provider's side: a signed webhook with each order's outcome. */
import pRetry, { AbortError } from 'p-retry'
import { signPayload } from '../../services/payments/src/signature.js'
import { ScriptError } from '../common/settings.js'
import { messageOf, RequestError, type Reply } from './client.js'
import type { Demo } from './context.js'
import type { PlannedOrder } from './history.js'

/** How long a transaction payments does not know yet (404) is tried again. */
const NOT_YET_KNOWN_FOR_MS = 90_000

/**
 * Settles the order's transaction with its planned outcome. A 404 means
 * payments has not received the OrderCreated yet (it is on its way through
 * the outbox and RabbitMQ): tried again after 150 ms, doubling to 2 s, for
 * 90 s; each try is signed anew (the signature carries its time). A 409 (an
 * earlier run settled it otherwise) keeps it as it is; a 401 ends the demo.
 */
export async function settle (demo: Demo, order: PlannedOrder): Promise<void> {
  const { client, config, progress, tally } = demo
  const body = JSON.stringify({ transaction_id: order.transactionId, status: order.outcome })
  const deadline = Date.now() + NOT_YET_KNOWN_FOR_MS
  await pRetry(async () => {
    const headers = { 'x-topup-signature': signPayload(config.secret, body, Math.floor(Date.now() / 1000)) }
    let result: Reply
    try {
      result = await client.callWithRetry('POST', '/api/payment/webhook/', { raw: body, headers })
    } catch (err) {
      throw new AbortError(err as Error) // already retried as far as is safe
    }
    if (result.status === 200) {
      const { changed } = result.body as { changed?: boolean }
      if (changed === true && order.outcome !== 'pending') tally.changed[order.outcome]++
      return
    }
    if (result.status === 401) {
      throw new AbortError(new ScriptError(`the payment webhook refuses the signature (${messageOf(result.body)}): set PAYMENT_WEBHOOK_SECRET to the secret the payments service uses`))
    }
    if (result.status === 409) {
      // settled otherwise by an earlier run: it stays as it is (statuses only move forward)
      order.outcome = order.outcome === 'success' ? 'failed' : 'success'
      progress.note(`demo: transaction ${order.transactionId} was already settled otherwise (409), kept as it is`)
      return
    }
    const error = new RequestError(`webhook for ${order.transactionId} → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
    if (result.status !== 404 || Date.now() > deadline) throw new AbortError(error)
    throw error
  }, {
    // more tries than 90 s hold at 2 s each: the deadline above ends them
    retries: 100,
    minTimeout: 150,
    factor: 2,
    maxTimeout: 2000,
    randomize: false,
    onFailedAttempt: () => { client.stats.webhook404++ }
  })
}
