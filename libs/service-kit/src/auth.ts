/// <reference types="@fastify/jwt" preserve="true" />
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

const JWKS_UNREACHABLE = new Set(['JWKS_REQUEST_FAILED', 'NO_JWKS'])

/**
 * Access-token verification, the same in every service: ES256 only, issuer,
 * audience and expiry checked; keys from auth's JWKS (cached), or the auth
 * service's own key pair.
 */
export default fp(async function tokens (app: FastifyInstance, options: TokenOptions) {
  const verify = { algorithms: [ACCESS_TOKEN_ALGORITHM as 'ES256'], allowedIss: options.issuer, allowedAud: options.audience, requiredClaims: ['sub', 'exp', 'iss', 'aud'] }
  if (options.signingKey !== undefined) {
    const { privateKeyPem, publicKeyPem, kid } = options.signingKey
    await app.register(fastifyJwt, {
      secret: { private: privateKeyPem, public: publicKeyPem },
      sign: { algorithm: ACCESS_TOKEN_ALGORITHM, kid, iss: options.issuer, aud: options.audience, expiresIn: ACCESS_TOKEN_TTL },
      verify
    })
  } else if (options.jwksBaseUrl !== undefined) {
    const jwks = buildGetJwks({ max: 100, ttl: 10 * 60_000, providerDiscovery: false })
    const domain = options.jwksBaseUrl
    await app.register(fastifyJwt, {
      decode: { complete: true },
      secret: async (_request: FastifyRequest, token: unknown) => {
        const header = (token as { header?: { kid?: string, alg?: string } }).header ?? {}
        if (header.kid === undefined || header.alg !== ACCESS_TOKEN_ALGORITHM) {
          throw new HttpError(401, 'Invalid access token.')
        }
        return await jwks.getPublicKey({ domain, kid: header.kid, alg: header.alg })
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
      if (JWKS_UNREACHABLE.has(code)) {
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
