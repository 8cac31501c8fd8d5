import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static } from 'typebox'
import { errorResponses, HttpError } from '@topup/service-kit'
import { findActiveGame, findMatchingProduct } from '../../db/catalog.js'
import { toDecimalString } from '../../db/decimal.js'
import { claimKey, requestHash, storeResponse } from '../../db/idempotency.js'
import { insertOrder } from '../../db/orders.js'
import { recordOrderCreated } from '../../events.js'
import { TopupBody, TopupCreated, TopupHeaders } from './schemas.js'

export const GAME_NOT_FOUND = 'Game not found or inactive.'
export const PRODUCT_MISMATCH = "Product not found or doesn't match the game."
export const CREATED = 'Top-up order created successfully.' as const

const topup: FastifyPluginAsyncTypebox<{ currency: string }> = async (app, options) => {
  app.post('/api/topup/', {
    onRequest: app.authenticate,
    schema: {
      tags: ['orders'],
      summary: 'Place a top-up order',
      description: 'Checks the game and product against the catalog (name, id and exact price), creates a pending order and its transaction, and announces it (OrderCreated). With an `Idempotency-Key`, a retry returns the first response and creates nothing new.',
      security: [{ bearerAuth: [] }],
      headers: TopupHeaders,
      body: TopupBody,
      response: { 201: TopupCreated, ...errorResponses(400, 401, 422) }
    }
  }, async (request, reply) => {
    const user = request.user
    const body = request.body
    const key = request.headers['idempotency-key']
    const price = toDecimalString(body.product_price)

    const result = await app.db.transaction().execute(async (trx) => {
      if (key !== undefined) {
        const claim = await claimKey(trx, user.sub, key, requestHash(body))
        if (claim.kind === 'mismatch') throw new HttpError(422, 'This Idempotency-Key was already used with a different request body.')
        // only a 201 is ever stored: a refused request rolls its key back
        if (claim.kind === 'replay') return { body: claim.body as Static<typeof TopupCreated>, replayed: true }
      }
      const game = await findActiveGame(trx, body.gamename, body.game_id)
      if (game === undefined) throw new HttpError(400, GAME_NOT_FOUND)
      const product = price === null ? undefined : await findMatchingProduct(trx, { id: body.product_id, gameId: game.id, name: body.product_name, price })
      if (product === undefined) throw new HttpError(400, PRODUCT_MISMATCH)

      const now = new Date()
      const order = {
        id: randomUUID(),
        transaction_id: randomUUID(),
        user_id: user.sub,
        user_email: user.email,
        game_id: game.id,
        game_code: game.code,
        game_name: game.name,
        product_id: product.id,
        product_name: product.name,
        in_game_currency: product.in_game_currency,
        amount: product.price,
        currency: options.currency,
        status: 'pending' as const,
        created_at: now,
        updated_at: now
      }
      await insertOrder(trx, order)
      await recordOrderCreated(trx, order, request.id)
      const response: Static<typeof TopupCreated> = { message: CREATED, order_id: order.id, transaction_id: order.transaction_id, status: 'pending' }
      if (key !== undefined) await storeResponse(trx, user.sub, key, 201, response)
      return { body: response, replayed: false }
    })
    if (result.replayed) reply.header('idempotent-replayed', 'true')
    return await reply.code(201).send(result.body)
  })
}

export default topup
