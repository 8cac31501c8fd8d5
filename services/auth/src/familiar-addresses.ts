import type { SharedState } from './redis.js'

/**
 * The (account, client address) pairs that logged in successfully lately, so that the login
 * throttle can let an owner in from where they usually log in while a guesser spread over many
 * addresses has used up the account's limit. Only a correct password adds a pair, so a guesser
 * cannot make its own addresses familiar.
 *
 * Hand-written rather than a library: a Map keeps insertion order, so re-inserting on use and
 * dropping the first key when full is a least-recently-used bound in a dozen lines (the LRU inside
 * @fastify/rate-limit, toad-cache, is not a dependency of ours). In memory: a restart forgets the
 * pairs, and each instance knows only its own logins, like the throttle's counters — unless
 * REDIS_URL is set (SharedFamiliarAddresses below).
 */
export class FamiliarAddresses {
  readonly #until = new Map<string, number>()

  constructor (private readonly ttlMs: number, private readonly capacity: number) {}

  remember (key: string): void {
    this.#until.delete(key)
    this.#until.set(key, Date.now() + this.ttlMs)
    if (this.#until.size > this.capacity) {
      const oldest = this.#until.keys().next()
      if (oldest.done !== true) this.#until.delete(oldest.value)
    }
  }

  has (key: string): boolean {
    const until = this.#until.get(key)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.#until.delete(key)
    return false
  }
}

/**
 * With REDIS_URL: the familiar pairs in Redis too (`<REDIS_PREFIX>familiar:<pair>`, expiring
 * after the same 30 days), because the account-wide limit they exempt from is shared: an owner
 * who logged in through one instance must not be locked out by another that never saw it.
 * Every pair is also kept in this process, which answers while Redis is unusable.
 */
export class SharedFamiliarAddresses {
  readonly #local: FamiliarAddresses

  constructor (private readonly shared: SharedState, private readonly ttlMs: number, capacity: number) {
    this.#local = new FamiliarAddresses(ttlMs, capacity)
  }

  async remember (key: string): Promise<void> {
    this.#local.remember(key)
    if (!this.shared.usable()) return
    try {
      await this.shared.redis.set(`${this.shared.prefix}familiar:${key}`, '1', 'PX', this.ttlMs)
    } catch (err) {
      this.shared.failed(err)
    }
  }

  async has (key: string): Promise<boolean> {
    if (this.#local.has(key)) return true
    if (!this.shared.usable()) return false
    try {
      return await this.shared.redis.exists(`${this.shared.prefix}familiar:${key}`) === 1
    } catch (err) {
      this.shared.failed(err)
      return false
    }
  }
}
