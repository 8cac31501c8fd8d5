import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ACCESS_TOKEN_TTL_MS, HttpError } from '@topup/service-kit'
import { issueRefreshToken, revokeFamilyOf, rotateRefreshToken } from '../../db/refresh-tokens.js'
import { findCredentialsByUsername, findUserById } from '../../db/users.js'
import { noStore } from '../../no-store.js'
import { dummyPasswordHash, verifyPassword } from '../../passwords.js'
import { loginSchema, logoutSchema, refreshSchema } from './schemas.js'

export interface TokenRoutesOptions {
  refreshTtlDays: number
}

const BAD_CREDENTIALS = 'Invalid username or password.'
const BAD_REFRESH = 'Invalid or expired refresh token.'
/** What a token response says of its access token (RFC 6749 §5.1): how to send it, and for how long it works. */
const BEARER = { token_type: 'Bearer' as const, expires_in: ACCESS_TOKEN_TTL_MS / 1000 }

const tokenRoutes: FastifyPluginAsyncTypebox<TokenRoutesOptions> = async (app, options) => {
  // computed now, so the first unknown-user login takes as long as any other
  await dummyPasswordHash()
  app.addHook('onSend', noStore)

  function accessToken (user: { id: string, username: string, email: string, is_staff: boolean }): string {
    return app.signAccessToken({ sub: user.id, username: user.username, email: user.email, staff: user.is_staff, typ: 'access' })
  }

  app.post('/api/token/', { schema: loginSchema }, async (request, reply) => {
    const { username, password } = request.body
    const result = await app.loginThrottle.attempt(request, reply, async () => {
      const user = await findCredentialsByUsername(app.db, username)
      // an unknown user costs the same argon2 verification as a wrong password
      const matches = await verifyPassword(user?.password_hash ?? await dummyPasswordHash(), password)
      return user !== undefined && matches ? { ok: true as const, user } : { ok: false as const }
    })
    if (!result.ok) {
      request.log.info('login failed')
      throw new HttpError(401, BAD_CREDENTIALS)
    }
    const { user } = result
    const refresh = await issueRefreshToken(app.db, { userId: user.id, ttlDays: options.refreshTtlDays })
    request.log.info({ userId: user.id }, 'logged in')
    return { access: accessToken(user), refresh, ...BEARER }
  })

  app.post('/api/token/refresh/', { schema: refreshSchema }, async (request) => {
    const result = await rotateRefreshToken(app.db, request.body.refresh, options.refreshTtlDays)
    if (!result.ok) {
      if (result.reason === 'reused') request.log.warn('refresh token reused: its family is revoked')
      else request.log.info({ reason: result.reason }, 'refresh refused')
      throw new HttpError(401, BAD_REFRESH)
    }
    const user = await findUserById(app.db, result.userId)
    if (user === undefined) throw new HttpError(401, BAD_REFRESH)
    return { access: accessToken(user), refresh: result.refresh, ...BEARER }
  })

  app.post('/api/logout/', { schema: logoutSchema }, async (request, reply) => {
    const known = await revokeFamilyOf(app.db, request.body.refresh)
    request.log.info({ known }, 'logged out')
    return await reply.code(204).send(null)
  })
}

export default tokenRoutes
