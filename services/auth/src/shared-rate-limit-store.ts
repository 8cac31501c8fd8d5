import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { SharedState } from './redis.js'

interface Count { current: number, ttl: number }
type Callback = (err: Error | null, result?: Count) => void

// A fixed window that starts with the first count, like the plugin's own stores (its
// RedisStore's script without the continueExceeding / backoff options, which auth does not use).
const INCR = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}`
const READ = `
local current = redis.call('GET', KEYS[1])
if not current then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {tonumber(current), ttl}`

/** The fallback while Redis is unusable: the same fixed windows, in this process. */
class LocalCounts {
  readonly #windows = new Map<string, { current: number, endsAt: number }>()

  incr (key: string, windowMs: number): Count {
    const now = Date.now()
    let entry = this.#windows.get(key)
    if (entry === undefined || entry.endsAt <= now) {
      entry = { current: 0, endsAt: now + windowMs }
      this.#windows.set(key, entry)
      if (this.#windows.size > 100_000) this.#prune(now)
    }
    entry.current++
    return { current: entry.current, ttl: entry.endsAt - now }
  }

  read (key: string): Count {
    const now = Date.now()
    const entry = this.#windows.get(key)
    if (entry === undefined || entry.endsAt <= now) return { current: 0, ttl: 0 }
    return { current: entry.current, ttl: entry.endsAt - now }
  }

  #prune (now: number): void {
    for (const [key, entry] of this.#windows) if (entry.endsAt <= now) this.#windows.delete(key)
    // still full of live windows: the oldest go (a Map iterates in insertion order)
    for (const key of this.#windows.keys()) {
      if (this.#windows.size <= 50_000) break
      this.#windows.delete(key)
    }
  }
}

function count (value: unknown): Count {
  if (!Array.isArray(value) || typeof value[0] !== 'number' || typeof value[1] !== 'number') throw new Error(`unexpected answer from Redis: ${JSON.stringify(value)}`)
  return { current: value[0], ttl: value[1] }
}

/**
 * A @fastify/rate-limit store whose counters live in Redis under
 * `<REDIS_PREFIX>rl:<key>`, shared by every auth instance: the login
 * throttle's limiters (keys `login:…`) and the registration limit (keys: the
 * client address). When Redis is unusable it counts in this process instead
 * (see SharedState for why it fails open to that rather than refusing).
 * Every limiter (`child`) shares the one key space: their keys differ.
 */
export function sharedRateLimitStore (shared: SharedState): FastifyRateLimitStoreCtor {
  const local = new LocalCounts()
  const redisKey = (key: string): string => `${shared.prefix}rl:${key}`

  function run (script: string, key: string, windowMs: number, fallback: () => Count, cb: Callback): void {
    if (!shared.usable()) {
      cb(null, fallback())
      return
    }
    void shared.redis.eval(script, 1, redisKey(key), Math.max(1, Math.trunc(windowMs))).then(count).then(
      (result) => { cb(null, result) },
      (err: unknown) => { shared.failed(err); cb(null, fallback()) }
    )
  }

  class SharedRateLimitStore implements FastifyRateLimitStore {
    incr (key: string, cb: Callback, timeWindow: number): void {
      run(INCR, key, timeWindow, () => local.incr(key, timeWindow), cb)
    }

    /** A look without counting (`{ increment: false }`). */
    read (key: string, cb: Callback, timeWindow: number): void {
      run(READ, key, timeWindow, () => local.read(key), cb)
    }

    child (): FastifyRateLimitStore {
      return this
    }
  }
  return SharedRateLimitStore
}
