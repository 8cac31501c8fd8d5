import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import { HttpError, type App } from '@topup/service-kit'

declare module 'fastify' {
  interface FastifyInstance {
    loginThrottle: LoginThrottle
  }
}

export interface LoginThrottleOptions {
  maxPerIp: number
  maxPerAccount: number
  windowMs: number
}

export interface LoginThrottle {
  /**
   * Runs one login attempt (the account is the body's `username`): refused
   * with 429 and Retry-After while the address or the account has used up its
   * failures in the window; a failed attempt (`ok: false`) counts against both.
   */
  attempt: <T extends { ok: boolean }>(request: FastifyRequest, reply: FastifyReply, run: () => Promise<T>) => Promise<T>
}

/**
 * Failed logins are throttled per client address and per account with
 * @fastify/rate-limit limiters that only count failures: each attempt first
 * peeks at both counters (`increment: false`) and a failed one is recorded
 * afterwards. An attempt that throws (say the database is down) counts as a
 * failure. Counters live in this process (the plugin's in-memory store).
 */
export default fp(async function loginThrottle (app: App, options: LoginThrottleOptions) {
  await app.register(rateLimit, { global: false })

  const accountKey = (request: FastifyRequest): string => {
    const username = (request.body as { username?: unknown } | undefined)?.username
    return `login:account:${typeof username === 'string' ? username.toLowerCase() : ''}`
  }
  const limiters = [
    { kind: 'address', max: options.maxPerIp, key: (request: FastifyRequest) => `login:ip:${request.ip}` },
    { kind: 'account', max: options.maxPerAccount, key: accountKey }
  ].map((l) => ({
    ...l,
    check: app.createRateLimit({ max: l.max, timeWindow: options.windowMs, keyGenerator: l.key })
  }))
  // Attempts still being checked count against the limits too, and the check-and-reserve and
  // record-and-release steps run one at a time, so a burst of parallel guesses cannot all pass
  // the peek before the first failure is recorded.
  const inFlight = new Map<string, number>()
  const adjust = (key: string, delta: number): void => {
    const next = (inFlight.get(key) ?? 0) + delta
    if (next <= 0) inFlight.delete(key)
    else inFlight.set(key, next)
  }
  let queue: Promise<unknown> = Promise.resolve()
  function exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn)
    queue = run.catch(() => {})
    return run
  }

  async function attempt<T extends { ok: boolean }> (request: FastifyRequest, reply: FastifyReply, run: () => Promise<T>): Promise<T> {
    const keys = await exclusive(async () => {
      const reserved: string[] = []
      for (const limiter of limiters) {
        const status = await limiter.check(request, { increment: false })
        if (status.isAllowed) continue
        if (status.remaining - (inFlight.get(status.key) ?? 0) <= 0) {
          return { throttled: limiter.kind, retryAfter: Math.max(1, Math.ceil((status.ttl > 0 ? status.ttl : options.windowMs) / 1000)) }
        }
        reserved.push(status.key)
      }
      for (const key of reserved) adjust(key, 1)
      return reserved
    })
    if (!Array.isArray(keys)) {
      request.log.warn({ limit: keys.throttled }, 'login throttled')
      reply.header('retry-after', keys.retryAfter)
      throw new LoginThrottled(keys.retryAfter)
    }
    let failed = true
    try {
      const result = await run()
      failed = !result.ok
      return result
    } finally {
      await exclusive(async () => {
        if (failed) {
          for (const limiter of limiters) await limiter.check(request)
        }
        for (const key of keys) adjust(key, -1)
      })
    }
  }

  app.decorate('loginThrottle', { attempt })
}, { name: 'login-throttle' })

export class LoginThrottled extends HttpError {
  constructor (readonly retryAfterSeconds: number) {
    super(429, `Too many failed login attempts, retry in ${retryAfterSeconds} seconds.`)
    this.name = 'LoginThrottled'
  }
}
