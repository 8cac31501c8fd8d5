import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { normalizeIP } from '@fastify/rate-limit'
import { HttpError, type App } from '@topup/service-kit'
import { FamiliarAddresses, SharedFamiliarAddresses } from '../familiar-addresses.js'
import type { SharedState } from '../redis.js'
import { serially } from '../serially.js'

declare module 'fastify' {
  interface FastifyInstance {
    loginThrottle: LoginThrottle
  }
}

export interface LoginThrottleOptions {
  /** failures per client address, whatever the account (LOGIN_MAX_PER_IP) */
  maxPerIp: number
  /** failures per (account, client address) pair (LOGIN_MAX_PER_ACCOUNT) */
  maxPerPair: number
  /** failures per account from all addresses together (LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES) */
  maxPerAccount: number
  windowMs: number
  /** Redis (REDIS_URL): the familiar pairs are shared too (the counters are, through the rate-limit store app.ts gives the plugin) */
  shared?: SharedState | undefined
}

export interface LoginThrottle {
  /**
   * Runs one login attempt (the account is the body's `username`): refused
   * with 429 and Retry-After while one of its limits is used up; a failed
   * attempt (`ok: false`) counts against all of them.
   */
  attempt: <T extends { ok: boolean }>(request: FastifyRequest, reply: FastifyReply, run: () => Promise<T>) => Promise<T>
}

/** How long, and for how many pairs, a successful login makes its address familiar for the account. */
const FAMILIAR_FOR_MS = 30 * 24 * 3_600_000
const FAMILIAR_PAIRS = 100_000

type Scope = 'pair' | 'address' | 'account'

/**
 * Failed logins are throttled with @fastify/rate-limit limiters that only
 * count failures: each attempt first peeks at its counters (`increment:
 * false`) and a failed one is recorded afterwards. An attempt that throws
 * (say the database is down) counts as a failure. Three limits:
 *
 * - per (account, address) pair: a guesser at one address gets a few tries
 *   for an account, and locks out only itself — the owner at another address
 *   is not affected (counting per account alone let anyone lock anyone out);
 * - per address: one address cannot spray guesses over many accounts;
 * - per account from all addresses, much higher: a guesser spread over many
 *   addresses is still capped. Reaching it would lock the owner out again, so
 *   an address the account logged in from in the last 30 days (a familiar
 *   pair) is exempt from it, and from the per-address limit (a shared NAT);
 *   only its pair limit applies. A hard cap rather than a growing delay: a
 *   delay holds a connection per guess, slows the owner just the same, and
 *   still needs a cap against a guesser that opens more connections.
 *
 * Addresses are keyed like @fastify/rate-limit does (IPv6 by its /64, which
 * one household or server gets whole). Without REDIS_URL the counters live in
 * this process (the plugin's in-memory store), and so do the familiar pairs;
 * with it both live in Redis and every instance counts against the same
 * limits (shared-rate-limit-store.ts, SharedFamiliarAddresses). The
 * reservations of attempts in flight (below) stay per process: a burst of
 * parallel guesses spread over n instances can get up to n - 1 more
 * failures through than one instance would allow, never more.
 */
export default fp(async function loginThrottle (app: App, options: LoginThrottleOptions) {
  const account = (request: FastifyRequest): string => {
    const username = (request.body as { username?: unknown } | undefined)?.username
    return typeof username === 'string' ? username.toLowerCase() : ''
  }
  const address = (request: FastifyRequest): string => normalizeIP(request.ip)
  const pairKey = (request: FastifyRequest): string => `login:pair:${JSON.stringify([account(request), address(request)])}`
  const limiters = ([
    { scope: 'pair', max: options.maxPerPair, key: pairKey },
    { scope: 'address', max: options.maxPerIp, key: (request: FastifyRequest) => `login:ip:${address(request)}` },
    { scope: 'account', max: options.maxPerAccount, key: (request: FastifyRequest) => `login:account:${account(request)}` }
  ] as const).map((l) => ({
    scope: l.scope as Scope,
    check: app.createRateLimit({ max: l.max, timeWindow: options.windowMs, keyGenerator: l.key })
  }))
  const familiar = options.shared === undefined
    ? new FamiliarAddresses(FAMILIAR_FOR_MS, FAMILIAR_PAIRS)
    : new SharedFamiliarAddresses(options.shared, FAMILIAR_FOR_MS, FAMILIAR_PAIRS)

  // Attempts still being checked count against the limits too, and the check-and-reserve and
  // record-and-release steps run one at a time, so a burst of parallel guesses cannot all pass
  // the peek before the first failure is recorded.
  const inFlight = new Map<string, number>()
  const adjust = (key: string, delta: number): void => {
    const next = (inFlight.get(key) ?? 0) + delta
    if (next <= 0) inFlight.delete(key)
    else inFlight.set(key, next)
  }
  const exclusive = serially()

  async function attempt<T extends { ok: boolean }> (request: FastifyRequest, reply: FastifyReply, run: () => Promise<T>): Promise<T> {
    const pair = pairKey(request)
    const applicable = await familiar.has(pair) ? limiters.filter((l) => l.scope === 'pair') : limiters
    const keys = await exclusive(async () => {
      const reserved: string[] = []
      const exhausted: Array<{ scope: Scope, retryAfter: number }> = []
      for (const limiter of applicable) {
        const status = await limiter.check(request, { increment: false })
        if (status.isAllowed) continue
        if (status.remaining - (inFlight.get(status.key) ?? 0) <= 0) {
          exhausted.push({ scope: limiter.scope, retryAfter: Math.max(1, Math.ceil((status.ttl > 0 ? status.ttl : options.windowMs) / 1000)) })
        }
        reserved.push(status.key)
      }
      if (exhausted.length > 0) return { throttled: exhausted.map((e) => e.scope), retryAfter: Math.max(...exhausted.map((e) => e.retryAfter)) }
      for (const key of reserved) adjust(key, 1)
      return reserved
    })
    if (!Array.isArray(keys)) {
      request.log.warn({ limits: keys.throttled }, 'login throttled')
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
          // every limit counts the failure, also those a familiar pair is exempt from
          for (const limiter of limiters) await limiter.check(request)
        } else {
          await familiar.remember(pair)
        }
        for (const key of keys) adjust(key, -1)
      })
    }
  }

  app.decorate('loginThrottle', { attempt })
}, { name: 'login-throttle', dependencies: ['@fastify/rate-limit'] })

export class LoginThrottled extends HttpError {
  constructor (readonly retryAfterSeconds: number) {
    super(429, `Too many failed login attempts, retry in ${retryAfterSeconds} seconds.`)
    this.name = 'LoginThrottled'
  }
}
