import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses, HttpError } from '@topup/service-kit'
import { decodeCursor, findOrder, listOrders, orderView } from '../../db/orders.js'

const Order = Type.Object({
  order_id: Type.String({ format: 'uuid', examples: ['cf772866-aeea-450c-bd79-79c04f831455'] }),
  transaction_id: Type.String({ format: 'uuid', examples: ['17338d20-39e4-47e5-b8cf-eb64d09e3d39'] }),
  user_id: Type.String({ examples: ['5d7f2a9e-1c3b-4e8a-9b6d-2f4a8c1e3b7d'] }),
  user_email: Type.String({ examples: ['player@example.com'] }),
  game: Type.Object({ id: Type.Integer({ examples: [1] }), code: Type.String({ examples: ['coc123'] }), name: Type.String({ examples: ['clash of clan'] }) }),
  product: Type.Object({ id: Type.Integer({ examples: [4] }), name: Type.String({ examples: ['UC Pack 500'] }), in_game_currency: Type.String({ examples: ['500 UC'] }) }),
  amount: Type.String({ examples: ['699.00'] }),
  currency: Type.String({ description: 'ISO 4217 code', examples: ['INR'] }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('success'), Type.Literal('failed')], { description: 'pending until the payment provider reports the result', examples: ['success'] }),
  created_at: Type.String({ format: 'date-time', examples: ['2026-12-01T15:37:21.498Z'] }),
  updated_at: Type.String({ format: 'date-time', examples: ['2026-12-01T15:37:25.773Z'] })
}, { description: 'The order' })

const OrderPage = Type.Object({
  results: Type.Array(Order),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page', examples: ['WyIyMDI2LTEyLTAxVDE1OjM3OjIxLjQ5OFoiLCJjZjc3Mjg2Ni1hZWVhLTQ1MGMtYmQ3OS03OWMwNGY4MzE0NTUiXQ'] })
}, { description: 'A page of orders, newest first' })

const orders: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/orders/', {
    onRequest: app.authenticate,
    schema: {
      tags: ['orders'],
      summary: 'Orders, newest first (players: their own; staff: all)',
      security: [{ bearerAuth: [] }],
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
        cursor: Type.Optional(Type.String({ maxLength: 200 }))
      }),
      response: { 200: OrderPage, ...errorResponses(400, 401) }
    }
  }, async (request) => {
    const { limit, cursor } = request.query
    const after = cursor === undefined ? undefined : decodeCursor(cursor)
    if (after === null) throw new HttpError(400, 'Invalid cursor.', [{ field: 'cursor', message: 'is not a cursor from a previous page' }])
    const page = await listOrders(app.db, {
      // the schema's default fills it in; the type cannot know that
      limit: limit ?? 20,
      ...(request.user.staff ? {} : { userId: request.user.sub }),
      ...(after === undefined ? {} : { after })
    })
    return { results: page.rows.map(orderView), next_cursor: page.next }
  })

  app.get('/api/orders/:id', {
    onRequest: app.authenticate,
    schema: {
      tags: ['orders'],
      summary: 'One order (players: their own only)',
      security: [{ bearerAuth: [] }],
      // maxLength: Ajv's uuid format also takes a "urn:uuid:" prefix, which PostgreSQL does not
      params: Type.Object({ id: Type.String({ format: 'uuid', maxLength: 36, description: 'The order_id', examples: ['cf772866-aeea-450c-bd79-79c04f831455'] }) }),
      response: { 200: Order, ...errorResponses(400, 401, 404) }
    }
  }, async (request) => {
    const order = await findOrder(app.db, request.params.id)
    // another user's order is indistinguishable from a missing one
    if (order === undefined || (!request.user.staff && order.user_id !== request.user.sub)) throw new HttpError(404, 'Order not found.')
    return orderView(order)
  })
}

export default orders
