/// <reference types="@fastify/jwt" preserve="true" />
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import buildGetJwks from 'get-jwks'
import { createSigner } from 'fast-jwt'
import { HttpError } from './errors.js'

/** What an access token says about its holder. */
export interface AccessTokenClaims {
  sub: string
  username: string
  email: string
  staff: boolean
  typ: 'access'
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessTokenClaims
    user: AccessTokenClaims
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hook: a valid access token is required (401 otherwise). It runs
     * before body validation, so an anonymous caller learns nothing of the rules.
     */
    authenticate: (request: FastifyRequest) => Promise<void>
    /** onRequest hook: a valid access token of a staff member (401, then 403). */
    requireStaff: (request: FastifyRequest) => Promise<void>
    /** A new access token, signed with the newest key. Only in auth (tokens registered with `signingKeys`). */
    signAccessToken: (claims: AccessTokenClaims) => string
  }
}

export const ACCESS_TOKEN_ALGORITHM = 'ES256' as const
export const ACCESS_TOKEN_TTL = '15m'

/** An access token's lifetime in milliseconds (ACCESS_TOKEN_TTL). */
export const ACCESS_TOKEN_TTL_MS = 15 * 60_000

/**
 * The auth service's own keys: several while a rotation is under way (see
 * services/auth/src/keyring.ts).
 */
export interface SigningKeys {
  /** The key new tokens are signed with (the newest one). */
  signing: () => { privateKeyPem: string, kid: string }
  /** The public key (PEM) of a key id auth lists; undefined for one it does not (unknown, or removed). */
  publicKey: (kid: string) => Promise<string | undefined>
}

export interface TokenOptions {
  issuer: string
  audience: string
  /** The auth service signs with its own keys and verifies with them. */
  signingKeys?: SigningKeys
  /** Every other service verifies with the keys auth publishes (JWKS). */
  jwksBaseUrl?: string
  /** How long a key fetched from the JWKS is used before auth is asked again (KEY_TTL_MS; shorter in tests). */
  keyTtlMs?: number
}

const JWKS_UNAVAILABLE = 'JWKS_UNAVAILABLE'
const JWKS_TIMEOUT_MS = 3000
/**
 * After a lookup of an unknown key id found nothing (or auth did not answer), no other unknown
 * key id is looked up for this long (random kids must not make every service hammer auth).
 * A lookup that finds its key does not hold the next one back: right after a rotation the
 * first tokens of the new key must not be refused because another key was looked up just before.
 */
const UNKNOWN_KID_INTERVAL_MS = 1000
/** A key id auth does not have is not asked for again for this long. */
const MISSING_KID_TTL_MS = 60_000

function unavailable (cause: unknown): Error {
  return Object.assign(new Error('the token keys cannot be fetched from auth'), { code: JWKS_UNAVAILABLE, cause })
}

/**
 * How long a fetched key is used before auth is asked again. It bounds how
 * long a key removed from auth's JWKS (npm run rotate-key -- --remove) is
 * still accepted here: at most this after auth stopped listing it.
 */
export const KEY_TTL_MS = 60_000
/**
 * While auth cannot be reached (no answer, an error), a key it listed at the
 * last fetch is used for this long after that fetch, so a short auth outage
 * does not turn every request into a 503. A key auth answers without (it was
 * removed) is refused at once.
 */
const STALE_KEY_MS = 10 * 60_000
/** After a failed refresh of a known key, auth is asked again at most this often (meanwhile the stale key serves). */
const REFRESH_RETRY_MS = 1000

/**
 * auth's public keys, through get-jwks (which fetches the JWKS again for a
 * key id it has not cached, so a key added by a rotation is found on its
 * first token), with what it lacks: a time limit on the fetch, one lookup in
 * flight per key id, throttled, remembered misses for key ids auth does not
 * have, a refresh of every key each KEY_TTL_MS that drops a key auth no
 * longer lists, and the verification key itself kept per key id. get-jwks's
 * getPublicKey converts the JWK to a PEM on every call in pure JavaScript
 * (jwk-to-pem → elliptic → bn.js): a CPU profile of orders under load spent
 * half its time there, so the JWK is turned into a key once, natively, and
 * the PEM kept.
 */
function jwksKeys (domain: string, keyTtlMs: number): { publicKey: (kid: string) => Promise<string> } {
  const jwks = buildGetJwks({ max: 100, ttl: keyTtlMs, providerDiscovery: false })
  const normalizedDomain = domain.endsWith('/') ? domain : `${domain}/`
  const pems = new Map<string, { pem: string, fetchedAt: number, retryAt: number }>()
  const missing = new Map<string, number>()
  const inFlight = new Map<string, Promise<string>>()
  // unknown key ids are looked up one at a time, so that a burst of random ones costs one fetch
  let unknownQueue: Promise<unknown> = Promise.resolve()
  let lastFailure = { at: 0, unavailable: false }

  async function fetchKey (kid: string): Promise<string> {
    // get-jwks's own copies go first: its cache would answer without asking auth, and its stale
    // cache (which it falls back to on any error, JWK_NOT_FOUND included) would hand back a key
    // auth has removed. Deleting from the cache moves the entry to the stale cache, hence the order.
    const cacheKey = jwks.generateCacheKey(ACCESS_TOKEN_ALGORITHM, kid, normalizedDomain)
    jwks.cache.delete(cacheKey)
    jwks.staleCache.delete(cacheKey)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(unavailable(new Error(`no answer within ${JWKS_TIMEOUT_MS} ms`))) }, JWKS_TIMEOUT_MS)
    })
    try {
      const jwk = await Promise.race([jwks.getJwk({ domain, kid, alg: ACCESS_TOKEN_ALGORITHM }), timeout])
      const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
      if (pems.size > 100) pems.clear()
      pems.set(kid, { pem, fetchedAt: Date.now(), retryAt: 0 })
      missing.delete(kid)
      return pem
    } catch (err) {
      if ((err as { code?: string }).code === 'JWK_NOT_FOUND') {
        lastFailure = { at: Date.now(), unavailable: false }
        pems.delete(kid)
        if (missing.size > 1000) missing.clear()
        missing.set(kid, Date.now())
        throw new HttpError(401, 'Invalid access token.')
      }
      lastFailure = { at: Date.now(), unavailable: true }
      if ((err as { code?: string }).code === JWKS_UNAVAILABLE) throw err
      throw unavailable(err)
    } finally {
      clearTimeout(timer)
    }
  }

  async function lookup (kid: string): Promise<string> {
    const pending = inFlight.get(kid)
    if (pending !== undefined) return await pending
    const started = fetchKey(kid).finally(() => { inFlight.delete(kid) })
    inFlight.set(kid, started)
    return await started
  }

  return {
    async publicKey (kid: string): Promise<string> {
      const cached = pems.get(kid)
      if (cached !== undefined) {
        const age = Date.now() - cached.fetchedAt
        if (age < keyTtlMs) return cached.pem
        if (Date.now() < cached.retryAt) {
          if (age < STALE_KEY_MS) return cached.pem
          throw unavailable(new Error('auth did not answer the last refresh'))
        }
        try {
          return await lookup(kid)
        } catch (err) {
          if (!hasCode(err, JWKS_UNAVAILABLE) || Date.now() - cached.fetchedAt >= STALE_KEY_MS) throw err
          cached.retryAt = Date.now() + REFRESH_RETRY_MS
          return cached.pem
        }
      }
      if (inFlight.has(kid)) return await lookup(kid)
      const missedAt = missing.get(kid)
      if (missedAt !== undefined && Date.now() - missedAt < MISSING_KID_TTL_MS) throw new HttpError(401, 'Invalid access token.')
      const run = unknownQueue.then(async () => {
        const found = pems.get(kid)
        if (found !== undefined) return found.pem
        if (Date.now() - lastFailure.at < UNKNOWN_KID_INTERVAL_MS) {
          if (lastFailure.unavailable) throw unavailable(new Error('auth did not answer a moment ago'))
          throw new HttpError(401, 'Invalid access token.')
        }
        return await lookup(kid)
      })
      unknownQueue = run.catch(() => {})
      return await run
    }
  }
}

/** The error, and what it was caused by. */
function hasCode (err: unknown, code: string): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true
  }
  return false
}

/** How many verified tokens each service keeps (see `verify.cache`). */
const VERIFIED_TOKEN_CACHE = 10_000

/**
 * Access-token verification, the same in every service: ES256 only, issuer,
 * audience and expiry checked; keys from auth's JWKS (cached), or the auth
 * service's own keys (which it also signs with).
 */
export default fp(async function tokens (app: FastifyInstance, options: TokenOptions) {
  const verify = {
    algorithms: [ACCESS_TOKEN_ALGORITHM as 'ES256'],
    allowedIss: options.issuer,
    allowedAud: options.audience,
    requiredClaims: ['sub', 'exp', 'iss', 'aud'],
    // a player sends the same token with every request: fast-jwt keeps what it verified (per
    // public key, an LRU of VERIFIED_TOKEN_CACHE tokens) until the token's own exp or a minute,
    // whichever is first; failures are not kept. The signature check was 5-8 % of orders' CPU.
    cache: VERIFIED_TOKEN_CACHE,
    cacheTTL: 60_000
  }
  /** The key for a token's header: ES256 with a key id, or 401 before any lookup. */
  const keyOf = (lookup: (kid: string) => Promise<string>) => async (_request: FastifyRequest, token: unknown): Promise<string> => {
    const header = (token as { header?: { kid?: string, alg?: string } }).header ?? {}
    if (typeof header.kid !== 'string' || header.alg !== ACCESS_TOKEN_ALGORITHM) {
      throw new HttpError(401, 'Invalid access token.')
    }
    return await lookup(header.kid)
  }
  // The key is looked up before fast-jwt's cache of verified tokens is consulted (that cache is
  // per verification key): a token of a key that is no longer listed is refused even if it was
  // verified a moment ago.
  if (options.signingKeys !== undefined) {
    const keys = options.signingKeys
    await app.register(fastifyJwt, {
      decode: { complete: true },
      secret: keyOf(async (kid) => {
        const pem = await keys.publicKey(kid)
        if (pem === undefined) throw new HttpError(401, 'Invalid access token.')
        return pem
      }),
      verify
    })
    // one signer per key (fast-jwt parses the key once); a handful of keys at most
    const signers = new Map<string, (payload: Record<string, unknown>) => string>()
    app.decorate('signAccessToken', function signAccessToken (claims: AccessTokenClaims): string {
      const { privateKeyPem, kid } = keys.signing()
      let sign = signers.get(kid)
      if (sign === undefined) {
        if (signers.size >= 16) signers.clear()
        sign = createSigner({ key: privateKeyPem, algorithm: ACCESS_TOKEN_ALGORITHM, kid, iss: options.issuer, aud: options.audience, expiresIn: ACCESS_TOKEN_TTL_MS })
        signers.set(kid, sign)
      }
      return sign({ ...claims })
    })
  } else if (options.jwksBaseUrl !== undefined) {
    const keys = jwksKeys(options.jwksBaseUrl, options.keyTtlMs ?? KEY_TTL_MS)
    await app.register(fastifyJwt, { decode: { complete: true }, secret: keyOf(keys.publicKey), verify })
  } else {
    throw new Error('token verification needs signing keys or a JWKS URL')
  }

  async function authenticate (request: FastifyRequest): Promise<void> {
    try {
      await request.jwtVerify()
    } catch (err) {
      const code = (err as { code?: string }).code ?? ''
      if (hasCode(err, JWKS_UNAVAILABLE)) {
        request.log.error({ err }, 'cannot fetch the token keys from auth')
        throw new HttpError(503, 'Token verification is temporarily unavailable.')
      }
      if (code === 'FST_JWT_NO_AUTHORIZATION_IN_HEADER') throw bearerChallenge('Missing access token.')
      if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') throw bearerChallenge('Access token expired.', 'invalid_token')
      throw bearerChallenge('Invalid access token.', 'invalid_token')
    }
    if (request.user.typ !== 'access') throw bearerChallenge('Invalid access token.', 'invalid_token')
  }

  app.decorate('authenticate', authenticate)
  app.decorate('requireStaff', async function requireStaff (request: FastifyRequest) {
    await authenticate(request)
    if (!request.user.staff) throw bearerChallenge('Staff access required.', 'insufficient_scope')
  })
}, { name: 'tokens' })

/**
 * A 401 (or, for a missing right, a 403) with the challenge RFC 6750 asks
 * for: `WWW-Authenticate: Bearer realm="topup"`, plus `error` and
 * `error_description` when a token was sent but is no good (a client library
 * then knows to refresh it), none when no token was sent at all.
 */
export function bearerChallenge (message: string, error?: 'invalid_token' | 'insufficient_scope'): HttpError {
  const challenge = error === undefined ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="${error}", error_description="${message}"`
  return new HttpError(error === 'insufficient_scope' ? 403 : 401, message, undefined, { 'www-authenticate': challenge })
}

/** The protection space of every service's bearer tokens. */
export const REALM = 'topup'
