/// <reference types="@fastify/jwt" preserve="true" />
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import buildGetJwks from 'get-jwks'
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
  }
}

export const ACCESS_TOKEN_ALGORITHM = 'ES256' as const
export const ACCESS_TOKEN_TTL = '15m'

export interface TokenOptions {
  issuer: string
  audience: string
  /** The auth service signs with its own key pair. */
  signingKey?: { privateKeyPem: string, publicKeyPem: string, kid: string }
  /** Every other service verifies with the keys auth publishes (JWKS). */
  jwksBaseUrl?: string
}

const JWKS_UNAVAILABLE = 'JWKS_UNAVAILABLE'
const JWKS_TIMEOUT_MS = 3000
/** An unknown key id is looked up at most this often (random kids must not make every service hammer auth). */
const UNKNOWN_KID_INTERVAL_MS = 1000
/** A key id auth does not have is not asked for again for this long. */
const MISSING_KID_TTL_MS = 60_000

function unavailable (cause: unknown): Error {
  return Object.assign(new Error('the token keys cannot be fetched from auth'), { code: JWKS_UNAVAILABLE, cause })
}

/** How long a fetched key is used before auth is asked again (get-jwks keeps the JWK as long). */
const KEY_TTL_MS = 10 * 60_000

/**
 * auth's public keys, through get-jwks (which caches the JWKs), with what it
 * lacks: a time limit on the fetch, one lookup in flight per key id,
 * throttled, remembered misses for key ids auth does not have, and the
 * verification key itself kept per key id. get-jwks's getPublicKey converts
 * the JWK to a PEM on every call in pure JavaScript (jwk-to-pem → elliptic →
 * bn.js): a CPU profile of orders under load spent half its time there, so
 * the JWK is turned into a key once, natively, and the PEM kept.
 */
function jwksKeys (domain: string): { publicKey: (kid: string) => Promise<string> } {
  const jwks = buildGetJwks({ max: 100, ttl: KEY_TTL_MS, providerDiscovery: false })
  const pems = new Map<string, { pem: string, expires: number }>()
  const known = new Set<string>()
  const missing = new Map<string, number>()
  const inFlight = new Map<string, Promise<string>>()
  let lastUnknownLookup = 0

  async function fetchKey (kid: string): Promise<string> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(unavailable(new Error(`no answer within ${JWKS_TIMEOUT_MS} ms`))) }, JWKS_TIMEOUT_MS)
    })
    try {
      const jwk = await Promise.race([jwks.getJwk({ domain, kid, alg: ACCESS_TOKEN_ALGORITHM }), timeout])
      const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
      if (pems.size > 100) pems.clear()
      pems.set(kid, { pem, expires: Date.now() + KEY_TTL_MS })
      return pem
    } catch (err) {
      if ((err as { code?: string }).code === 'JWK_NOT_FOUND') {
        if (missing.size > 1000) missing.clear()
        missing.set(kid, Date.now())
        throw new HttpError(401, 'Invalid access token.')
      }
      if ((err as { code?: string }).code === JWKS_UNAVAILABLE) throw err
      throw unavailable(err)
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    async publicKey (kid: string): Promise<string> {
      const cached = pems.get(kid)
      if (cached !== undefined && cached.expires > Date.now()) return cached.pem
      if (known.has(kid)) return await fetchKey(kid)
      const pending = inFlight.get(kid)
      if (pending !== undefined) return await pending
      const now = Date.now()
      const missedAt = missing.get(kid)
      if (missedAt !== undefined && now - missedAt < MISSING_KID_TTL_MS) throw new HttpError(401, 'Invalid access token.')
      if (now - lastUnknownLookup < UNKNOWN_KID_INTERVAL_MS) throw new HttpError(401, 'Invalid access token.')
      lastUnknownLookup = now
      const lookup = fetchKey(kid).then((key) => { known.add(kid); return key }).finally(() => { inFlight.delete(kid) })
      inFlight.set(kid, lookup)
      return await lookup
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
 * service's own key pair.
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
  if (options.signingKey !== undefined) {
    const { privateKeyPem, publicKeyPem, kid } = options.signingKey
    await app.register(fastifyJwt, {
      secret: { private: privateKeyPem, public: publicKeyPem },
      sign: { algorithm: ACCESS_TOKEN_ALGORITHM, kid, iss: options.issuer, aud: options.audience, expiresIn: ACCESS_TOKEN_TTL },
      verify
    })
  } else if (options.jwksBaseUrl !== undefined) {
    const keys = jwksKeys(options.jwksBaseUrl)
    await app.register(fastifyJwt, {
      decode: { complete: true },
      secret: async (_request: FastifyRequest, token: unknown) => {
        const header = (token as { header?: { kid?: string, alg?: string } }).header ?? {}
        if (header.kid === undefined || header.alg !== ACCESS_TOKEN_ALGORITHM) {
          throw new HttpError(401, 'Invalid access token.')
        }
        return await keys.publicKey(header.kid)
      },
      verify
    })
  } else {
    throw new Error('token verification needs a signing key or a JWKS URL')
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
      if (code === 'FST_JWT_NO_AUTHORIZATION_IN_HEADER') throw new HttpError(401, 'Missing access token.')
      if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') throw new HttpError(401, 'Access token expired.')
      throw new HttpError(401, 'Invalid access token.')
    }
    if (request.user.typ !== 'access') throw new HttpError(401, 'Invalid access token.')
  }

  app.decorate('authenticate', authenticate)
  app.decorate('requireStaff', async function requireStaff (request: FastifyRequest) {
    await authenticate(request)
    if (!request.user.staff) throw new HttpError(403, 'Staff access required.')
  })
}, { name: 'tokens' })
