import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Counter, errorResponses, HttpError } from '@topup/service-kit'
import { keepPriceLiteral } from '../../db/decimal.js'
import { placeOrder } from '../../orders/place-order.js'
import { BACKDATING_DISABLED, BACKDATING_HEADER, BACKDATING_IN_PRODUCTION, parseBackdating } from '../../backdating.js'
import { DECIMAL_AMOUNT, decimalAmount, notBlank, trimmed } from '../fields.js'
import { PRICE_PROBLEM, TopupBody, TopupCreated, TopupHeaders } from './schemas.js'

export interface TopupOptions {
  currency: string
  /** Whether `X-Demo-Created-At` is honoured (development only), and why not when it is not. */
  backdating: { allowed: true } | { allowed: false, reason: string }
}

export function backdatingPolicy (config: { NODE_ENV: string, DEMO_BACKDATING: boolean }): TopupOptions['backdating'] {
  if (config.NODE_ENV === 'production') return { allowed: false, reason: BACKDATING_IN_PRODUCTION }
  return config.DEMO_BACKDATING ? { allowed: true } : { allowed: false, reason: BACKDATING_DISABLED }
}

/** The order's created_at: now, or the instant a (permitted, valid) X-Demo-Created-At names. */
function createdAt (header: string | undefined, policy: TopupOptions['backdating']): Date {
  const now = new Date()
  if (header === undefined) return now
  if (!policy.allowed) throw new HttpError(400, policy.reason, [{ field: BACKDATING_HEADER, message: 'is not accepted here' }])
  const parsed = parseBackdating(header, now)
  if ('problem' in parsed) throw new HttpError(400, `X-Demo-Created-At ${parsed.problem}.`, [{ field: BACKDATING_HEADER, message: parsed.problem }])
  return parsed.at
}

const topup: FastifyPluginAsyncTypebox<TopupOptions> = async (app, options) => {
  // this route only: Fastify's own JSON parsing (prototype-poisoning safe), then the price as written
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, raw, done) => {
    const text = typeof raw === 'string' ? raw : raw.toString('utf8')
    void parseJson(request, text, (err, parsed) => {
      if (err !== null) { done(err); return }
      done(null, keepPriceLiteral(text, parsed))
    })
  })
  // a business figure for /metrics: orders placed (not their idempotent replays)
  const ordersCreated = new Counter({ name: 'orders_created_total', help: 'Top-up orders created', registers: [app.metricsRegistry] })

  app.post('/api/topup/', {
    // who first (no token is a 401), then how often (ORDER_MAX_PER_USER / ORDER_MAX_PER_IP)
    onRequest: [app.authenticate, app.orderRateLimit],
    // the names are matched as the catalog stores them, trimmed; the price is checked as
    // written (a JSON number is its literal text by now, see keepPriceLiteral)
    preValidation: [notBlank('gamename', 'game_id', 'product_name'), decimalAmount('product_price', DECIMAL_AMOUNT, PRICE_PROBLEM)],
    preHandler: trimmed('gamename', 'game_id', 'product_name'),
    schema: {
      tags: ['orders'],
      summary: 'Place a top-up order',
      description: 'Checks the game and product against the catalog (GET /api/games/: the game\'s name and game_id, the product\'s id, name and exact price) and creates a pending order and its payment transaction; the order follows the payment provider\'s result. A mismatch is a 400 that names each field that did not match and what the catalog has (`details`), e.g. `product_price: must be 699.00, the price of "UC Pack 500"`. With an `Idempotency-Key`, a retry returns the first response and creates nothing new. Each player and each client address may place a limited number of orders in a time window (by default 30 a minute per player, 300 per address): beyond it, 429 with `Retry-After`; the retry of an order already placed with its `Idempotency-Key` is never refused by the limit. Development only: `X-Demo-Created-At` backdates the order (refused in production).',
      security: [{ bearerAuth: [] }],
      headers: TopupHeaders,
      body: TopupBody,
      response: { 201: TopupCreated, ...errorResponses(400, 401, 422, 429) }
    }
  }, async (request, reply) => {
    // checked before anything is written: a refused header creates nothing and claims no key
    const at = createdAt(request.headers[BACKDATING_HEADER], options.backdating)
    const key = request.headers['idempotency-key']
    const placed = await placeOrder(app.db, {
      player: { id: request.user.sub, email: request.user.email },
      request: request.body,
      ...(key === undefined ? {} : { idempotencyKey: key }),
      at,
      currency: options.currency,
      correlationId: request.id
    })
    if (placed.replayed) reply.header('idempotent-replayed', 'true')
    else ordersCreated.inc()
    return await reply.code(201).send(placed.body)
  })
}

export default topup
