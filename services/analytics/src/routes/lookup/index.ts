import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, HttpError } from '@topup/service-kit'
import { lookupOrders, type LookupKey } from '../../db/timeline.js'
import { LookupQuery, LookupResponse } from './schemas.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const EMAIL = /^[^\s@]+@[^\s@]+$/
const KEYS = ['order_id', 'transaction_id', 'email'] as const

function bad (field: string, message: string): HttpError {
  return new HttpError(400, `Invalid ${field}: ${message}`, [{ field, message }])
}

/** The one key of `?order_id=|transaction_id=|email=`, checked: a problem → 400 naming the field. */
export function lookupKey (query: Partial<Record<typeof KEYS[number], string>>): LookupKey {
  const given = KEYS.filter((k) => query[k] !== undefined && query[k].trim() !== '')
  const [field, second] = given
  if (field === undefined) throw bad('order_id', 'give one of order_id, transaction_id or email')
  if (second !== undefined) throw bad(second, `cannot be combined with ${field} (give one key)`)
  const value = (query[field] ?? '').trim()
  if (field === 'email') {
    if (value.length > 254 || !EMAIL.test(value)) throw bad('email', 'must be an e-mail address such as player@example.com')
    // stored lower-cased (auth lower-cases addresses at registration)
    return { field, value: value.toLowerCase() }
  }
  if (!UUID.test(value)) throw bad(field, 'must be a UUID such as 0b9e1c2a-3f4d-4e5f-8a6b-7c8d9e0f1a2b')
  return { field, value: value.toLowerCase() }
}

/**
 * GET /api/analytics/lookup/: support finds an order by its id, its
 * transaction id or the customer's e-mail, and sees its timeline. Staff only;
 * answers hold personal data, so nothing caches them.
 */
const lookup: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/analytics/lookup/', {
    onRequest: app.requireStaff,
    schema: {
      tags: ['analytics'],
      summary: 'Look up an order by order id, transaction id or e-mail, with its timeline (created, each payment result)',
      description: 'Exactly one of order_id, transaction_id, email. An order not known to the figures yet (placed a moment ago) is not found: an empty list, not a 404.',
      security: [{ bearerAuth: [] }],
      querystring: LookupQuery,
      response: { 200: LookupResponse, ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request, reply) => {
    const key = lookupKey(request.query)
    reply.header('cache-control', 'no-store')
    return { field: key.field, ...await lookupOrders(app.db, key) }
  })
}

export default lookup
