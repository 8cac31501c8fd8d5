import type { Kysely } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from './db/schema.js'
import { keyStates, loadKeyRecords, withEnvKey } from './db/signing-keys.js'
import { signingKeyFromPem, type PublicJwk, type SigningKey } from './keys.js'

/** A key id nobody lists is looked up in the database at most this often (random kids must not hammer it). */
const MISS_RELOAD_INTERVAL_MS = 1000

/**
 * The signing keys of this auth instance, read from signing_keys (plus
 * AUTH_PRIVATE_KEY's) every `reloadMs` and when a token carries a key id it
 * does not list: several instances share the table, so a key added or
 * removed with `npm run rotate-key` reaches all of them without a restart,
 * within one reload interval. The JWKS lists every key not removed (pending
 * ones included, so that all instances publish a key before any signs with
 * it); new tokens are signed with the newest key whose signing_from has
 * passed (by the database's clock). When the database cannot be read the
 * last set is kept.
 */
export class Keyring {
  readonly #db: Kysely<Database>
  readonly #envKey: SigningKey | undefined
  readonly #log: FastifyBaseLogger
  readonly #parsed = new Map<string, SigningKey>()
  #listed = new Map<string, SigningKey>()
  #signing: SigningKey | undefined
  #loading: Promise<void> | undefined
  #lastMissReload = 0
  #timer: NodeJS.Timeout | undefined

  constructor (db: Kysely<Database>, envKey: SigningKey | undefined, log: FastifyBaseLogger) {
    this.#db = db
    this.#envKey = envKey
    this.#log = log
  }

  /** Reads the key set again (one read at a time: concurrent callers share it). Throws when no key can sign. */
  async reload (): Promise<void> {
    this.#loading ??= this.#load().finally(() => { this.#loading = undefined })
    await this.#loading
  }

  async #load (): Promise<void> {
    const { records, now } = await loadKeyRecords(this.#db)
    const states = keyStates(withEnvKey(records, this.#envKey), now)
    const listed = new Map<string, SigningKey>()
    let signing: SigningKey | undefined
    for (const state of states) {
      if (state.state === 'removed' || state.privateKeyPem === null) continue
      let key = this.#parsed.get(state.kid)
      if (key === undefined) {
        key = signingKeyFromPem(state.privateKeyPem)
        this.#parsed.set(state.kid, key)
      }
      listed.set(state.kid, key)
      if (state.state === 'signing') signing = key
    }
    if (signing === undefined) throw new Error('no signing key: every key is removed or not yet due (npm run rotate-key adds one)')
    for (const kid of listed.keys()) if (!this.#listed.has(kid) && this.#signing !== undefined) this.#log.info({ kid }, 'signing key listed')
    for (const kid of this.#listed.keys()) if (!listed.has(kid)) { this.#log.info({ kid }, 'signing key removed'); this.#parsed.delete(kid) }
    if (signing.kid !== this.#signing?.kid) this.#log.info({ kid: signing.kid, keys: listed.size }, 'signing new tokens with this key')
    this.#listed = listed
    this.#signing = signing
  }

  /** Reloads every `intervalMs` until stop(); a failed reload keeps the last set (and says so). */
  start (intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.reload().catch((err: unknown) => { this.#log.warn({ err }, 'could not reload the signing keys; keeping the last ones') })
    }, intervalMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  /** The key new tokens are signed with. */
  signing (): SigningKey {
    if (this.#signing === undefined) throw new Error('the keyring was not loaded')
    return this.#signing
  }

  /** What the JWKS publishes. */
  jwks (): PublicJwk[] {
    return [...this.#listed.values()].map((k) => k.jwk)
  }

  /** The public key of a listed key id; an unknown one makes a reload first (at most once a second), then undefined. */
  async publicKey (kid: string): Promise<string | undefined> {
    const known = this.#listed.get(kid)
    if (known !== undefined) return known.publicKeyPem
    if (this.#loading !== undefined) {
      await this.#loading.catch(() => {})
      return this.#listed.get(kid)?.publicKeyPem
    }
    const now = Date.now()
    if (now - this.#lastMissReload < MISS_RELOAD_INTERVAL_MS) return undefined
    this.#lastMissReload = now
    try {
      await this.reload()
    } catch (err) {
      this.#log.warn({ err }, 'could not reload the signing keys; keeping the last ones')
    }
    return this.#listed.get(kid)?.publicKeyPem
  }
}
