/** Placing the planned orders through the gateway, and paying them. */
import { setTimeout as sleep } from 'node:timers/promises'
import { ScriptError } from '../common/settings.js'
import { messageOf, RequestError } from './client.js'
import type { Demo } from './context.js'
import { cents, type PlannedOrder } from './history.js'
import { accessToken } from './players.js'
import { settle } from './webhooks.js'

/** A real provider answers after a moment: most OrderCreated events are at payments by then. */
const PROVIDER_DELAY_MS = 200

/**
 * POST /api/topup/ with the catalog's exact names, ids and prices, an
 * Idempotency-Key (the same run on the same day places the same orders) and
 * the development-only X-Demo-Created-At that backdates it. A refused token
 * is refreshed once.
 */
async function placeOrder (demo: Demo, order: PlannedOrder, runId: string): Promise<void> {
  const { player, game, product } = order
  const json = { gamename: game.name, game_id: game.game_id, product_name: product.name, product_id: product.id, product_price: product.price }
  const headers = { 'idempotency-key': `demo-${runId}-${order.seq}`, 'x-demo-created-at': order.createdAt.toISOString() }
  let token = await accessToken(demo, player)
  for (let attempt = 1; ; attempt++) {
    const result = await demo.client.callWithRetry('POST', '/api/topup/', { json, headers, token })
    if (result.status === 201) {
      const created = result.body as { order_id: string, transaction_id: string }
      order.orderId = created.order_id
      order.transactionId = created.transaction_id
      order.replayed = result.headers.get('idempotent-replayed') === 'true'
      return
    }
    if (result.status === 401 && attempt === 1) {
      token = await accessToken(demo, player, { stale: token })
      continue
    }
    if (result.status === 400 && /backdating/i.test(messageOf(result.body))) {
      throw new ScriptError(`the orders service refuses backdated orders: ${messageOf(result.body)} (the demo needs orders in development with DEMO_BACKDATING unset or true)`)
    }
    throw new RequestError(`POST /api/topup/ (${player.username}, ${product.name}) → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
  }
}

/**
 * One planned order, placed and (unless it stays pending) paid. A failed
 * request is counted and the run goes on; a ScriptError (the system refuses
 * what the demo needs, or too many requests fail) ends it.
 */
export async function runOrder (demo: Demo, order: PlannedOrder, runId: string): Promise<void> {
  const { tally, progress } = demo
  try {
    await order.player.ready
    await placeOrder(demo, order, runId)
    tally.placed++
    if (order.replayed === true) tally.replayed++
    else tally.created++
    progress.increment()
    if (order.outcome !== 'pending') {
      await sleep(PROVIDER_DELAY_MS)
      await settle(demo, order)
      tally.settled++
    }
    tally.outcome[order.outcome]++
    if (order.outcome === 'success') tally.revenueCents += cents(order.product.price)
  } catch (err) {
    if (err instanceof ScriptError) throw err
    order.failed = true
    demo.client.recordError(err as Error)
    demo.client.checkErrors()
  }
}
