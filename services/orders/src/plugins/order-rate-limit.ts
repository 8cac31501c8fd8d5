import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import { HttpError, type App } from '@topup/service-kit'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hook of POST /api/topup/, after `authenticate`: a 429 with
     * Retry-After once the player or the client address has placed its
     * orders for the window.
     */
    orderRateLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

export interface OrderRateLimitOptions {
  /** Orders one player may place per window; 0: no limit. */
  maxPerUser: number
  /** Orders from one client address per window, whoever places them; 0: no limit. */
  maxPerIp: number
  windowMs: number
  /** A request that is let through uncounted (a retry that creates nothing). */
  exempt: (request: FastifyRequest) => Promise<boolean>
}

/**
 * Order creation limited per player and per client address (issue 9: one
 * player created 200 pending orders in 5.4 s) with @fastify/rate-limit
 * limiters, in this process's memory like auth's login throttle: with several
 * instances behind the gateway each counts its own share.
 *
 * The route hook runs after authentication (no token is a 401, never a 429,
 * and an anonymous request counts against nobody), before the body is read.
 * Every attempt counts, a refused one included: the player's limit first, and
 * only a request within it counts against the address, so one player who
 * keeps trying does not use up the address's allowance for the others on it.
 */
export default fp(async function orderRateLimit (app: App, options: OrderRateLimitOptions) {
  await app.register(rateLimit, { global: false })
  const limiters = [
    { limit: 'player', max: options.maxPerUser, key: (request: FastifyRequest) => `orders:user:${request.user.sub}` },
    // an IPv6 client has its whole /64, as the plugin's own default key gives it
    { limit: 'address', max: options.maxPerIp, key: (request: FastifyRequest) => `orders:ip:${normalizeIP(request.ip)}` }
  ].filter((l) => l.max > 0).map((l) => ({
    limit: l.limit,
    count: app.createRateLimit({ max: l.max, timeWindow: options.windowMs, keyGenerator: l.key })
  }))

  app.decorate('orderRateLimit', async function limitOrders (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (limiters.length === 0 || await options.exempt(request)) return
    for (const { limit, count } of limiters) {
      const status = await count(request)
      if (status.isAllowed || !status.isExceeded) continue
      const retryAfter = Math.max(1, status.ttlInSeconds)
      request.log.warn({ limit, retryAfter }, 'order creation throttled')
      reply.header('retry-after', retryAfter)
      throw new HttpError(429, `Too many orders, retry in ${retryAfter} seconds.`)
    }
  })
}, { name: 'order-rate-limit', dependencies: ['tokens'] })
