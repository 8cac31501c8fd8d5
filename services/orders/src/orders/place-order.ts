import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { HttpError } from '@topup/service-kit'
import { findGameAndProduct, explainMismatch } from '../db/catalog.js'
import { canonicalDecimal, toDecimalString } from '../db/decimal.js'
import { claimKey, requestHash } from '../db/idempotency.js'
import { insertOrder } from '../db/orders.js'
import type { Database } from '../db/schema.js'
import { recordOrderCreated } from '../events.js'

export const GAME_NOT_FOUND = 'Game not found or inactive.'
export const PRODUCT_MISMATCH = "Product not found or doesn't match the game."
export const CREATED = 'Top-up order created successfully.' as const
export const KEY_REUSED = 'This Idempotency-Key was already used with a different request body.'

/** What a player asks for: the names as the catalog stores them (trimmed), the price as written. */
export interface OrderRequest {
  gamename: string
  game_id: string
  product_id: number
  product_name: string
  /** The price as the client wrote it (JSON number literal or string). */
  product_price: string | number
}

export interface PlaceOrder {
  player: { id: string, email: string }
  request: OrderRequest
  /** The Idempotency-Key, if the client sent one. */
  idempotencyKey?: string
  /** The order's instant (now, or a permitted backdate). */
  at: Date
  currency: string
  /** The request id: the event's correlation id. */
  correlationId: string
}

export interface OrderPlaced {
  body: { message: typeof CREATED, order_id: string, transaction_id: string, status: 'pending' }
  /** The first response again: this key was used before with the same request. */
  replayed: boolean
}

/**
 * Places a top-up order, in one transaction: claims the idempotency key (with
 * the answer this request gives if it commits), checks game and product
 * against the catalog (name, id and exact price), writes the pending order
 * and its OrderCreated into the outbox. A refused request (an HttpError: 400
 * for the catalog, 422 for a key reused with another body) rolls everything
 * back, its key included; a retry with the same key and body gets the first
 * answer and creates nothing.
 */
export async function placeOrder (db: Kysely<Database>, order: PlaceOrder): Promise<OrderPlaced> {
  const ids = { id: randomUUID(), transaction_id: randomUUID() }
  const body: OrderPlaced['body'] = { message: CREATED, order_id: ids.id, transaction_id: ids.transaction_id, status: 'pending' }
  const { request } = order
  // the price as an exact decimal, or null when it is not one at all (then it matches no product)
  const price = toDecimalString(request.product_price)
  return await db.transaction().execute(async (trx) => {
    if (order.idempotencyKey !== undefined) {
      const hash = requestHash({ ...request, product_price: price === null ? request.product_price : canonicalDecimal(price) })
      const claim = await claimKey(trx, { userId: order.player.id, key: order.idempotencyKey, hash, status: 201, body })
      if (claim.kind === 'mismatch') throw new HttpError(422, KEY_REUSED)
      if (claim.kind === 'replay') return { body: claim.body as OrderPlaced['body'], replayed: true }
    }
    const match = { gameName: request.gamename, gameCode: request.game_id, productId: request.product_id, productName: request.product_name, price }
    const { game, product } = await findGameAndProduct(trx, match)
    if (game === undefined || product === undefined) {
      const problems = await explainMismatch(trx, match)
      const first = problems[0]
      const summary = game === undefined ? GAME_NOT_FOUND : PRODUCT_MISMATCH
      throw new HttpError(400, first === undefined ? summary : `${summary} ${first.field}: ${first.message}.`, problems)
    }
    const row = {
      ...ids,
      user_id: order.player.id,
      user_email: order.player.email,
      game_id: game.id,
      game_code: game.code,
      game_name: game.name,
      product_id: product.id,
      product_name: product.name,
      in_game_currency: product.in_game_currency,
      amount: product.price,
      currency: order.currency,
      status: 'pending' as const,
      created_at: order.at,
      updated_at: order.at
    }
    await insertOrder(trx, row)
    await recordOrderCreated(trx, row, order.correlationId)
    return { body, replayed: false }
  })
}
