import { once } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { Redis } from 'ioredis'

/** How long a command may take before it counts as a failure (a login waits for a few of them). */
const COMMAND_TIMEOUT_MS = 500
/** After a failure Redis is not tried again for this long: the in-process fallback answers at once. */
const BREAKER_MS = 5000
/** A warning at most this often while Redis is unusable (not one per login). */
const WARN_EVERY_MS = 10_000
/** How long startup waits for the first connection before going on without it. */
const STARTUP_WAIT_MS = 2000

/**
 * auth's connection to Redis (REDIS_URL), where the login throttle's
 * counters and familiar addresses live so that every instance shares them.
 * Every key starts with `prefix`.
 *
 * Redis unavailable does NOT fail logins: whoever uses it falls back to
 * counting in this process (`usable()` false, or a command failing), which
 * is what every instance did before Redis — the limits then hold per
 * instance (n instances: at most n times the limit) until Redis answers
 * again. Refusing logins (503) instead would let a Redis outage lock every
 * player out of the platform, and a 500 per login would do the same; Redis
 * is an internal service an attacker cannot take down from outside, so the
 * weaker per-instance limit for the length of an outage is the better
 * trade. A warning is logged (at most every 10 s) while it lasts.
 * Commands are not queued while disconnected and time out after 500 ms, and
 * after a failure Redis is skipped for 5 s, so an outage costs a login at
 * most one slow command.
 */
export class SharedState {
  readonly redis: Redis
  readonly prefix: string
  readonly #log: FastifyBaseLogger
  #skipUntil = 0
  #lastWarning = 0
  #down = false

  constructor (url: string, prefix: string, log: FastifyBaseLogger) {
    this.prefix = prefix
    this.#log = log
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 2000,
      // reconnect forever, at most every 2 s
      retryStrategy: (times) => Math.min(times * 200, 2000)
    })
    this.redis.on('error', (err: Error) => { this.failed(err) })
    this.redis.on('ready', () => {
      if (this.#down) log.info('Redis answers again: login limits are shared again')
      this.#down = false
      this.#skipUntil = 0
    })
  }

  /** Waits a little for the first connection; without one auth starts anyway (counting in process meanwhile). */
  async connected (): Promise<void> {
    if (this.redis.status === 'ready') return
    const timeout = AbortSignal.timeout(STARTUP_WAIT_MS)
    try {
      await once(this.redis, 'ready', { signal: timeout })
    } catch {
      this.failed(new Error(`no connection within ${STARTUP_WAIT_MS} ms`))
    }
  }

  /** Whether to try Redis now. */
  usable (): boolean {
    return this.redis.status === 'ready' && Date.now() >= this.#skipUntil
  }

  /** A command failed (or the connection did): skip Redis for a while, and say so now and then. */
  failed (err: unknown): void {
    this.#down = true
    this.#skipUntil = Date.now() + BREAKER_MS
    const now = Date.now()
    if (now - this.#lastWarning < WARN_EVERY_MS) return
    this.#lastWarning = now
    this.#log.warn({ err }, 'Redis unavailable: login limits are counted per instance until it answers')
  }

  async close (): Promise<void> {
    if (this.redis.status === 'end') return
    try {
      await this.redis.quit()
    } catch {
      this.redis.disconnect()
    }
  }
}
