import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HttpError, type App } from '@topup/service-kit'
import { insertUser, TakenError } from '../../db/users.js'
import { hashPassword, passwordProblem } from '../../passwords.js'
import { serially } from '../../serially.js'
import { dateOfBirthProblem, fieldError } from '../../validation.js'
import { registerSchema } from './schemas.js'

export interface RegisterOptions {
  /** attempts per client address in the window; 0 = no limit (REGISTER_MAX_PER_IP) */
  maxPerIp: number
  windowMs: number
}

/**
 * Registration attempts per client address (keyed like @fastify/rate-limit
 * does: IPv6 by its /64). Every attempt counts, whatever its answer, and is
 * counted in onRequest, before the body is read: simpler than counting only
 * created accounts, and it is what caps the enumeration probes (409 for a
 * taken email) and the argon2 hashing one address can make us do.
 *
 * A hook around app.createRateLimit rather than the route's
 * `config.rateLimit`: the plugin's in-memory store hands every caller the
 * same counter object and the count is read after an await, so requests
 * whose hooks run in one tick (a pipelined burst) all read the final count
 * and are all refused, the first ones included. Counting one at a time gives
 * exactly `max` through.
 */
function registrationLimit (app: App, { maxPerIp, windowMs }: RegisterOptions) {
  const count = app.createRateLimit({ max: maxPerIp, timeWindow: windowMs })
  const exclusive = serially()
  return async function registrationLimit (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const status = await exclusive(async () => await count(request))
    if (status.isAllowed || !status.isExceeded) return
    const seconds = Math.max(1, status.ttlInSeconds)
    request.log.warn('registration throttled')
    reply.header('retry-after', seconds)
    throw new HttpError(429, `Too many registrations from this address, retry in ${seconds} seconds.`)
  }
}

const register: FastifyPluginAsyncTypebox<RegisterOptions> = async (app, options) => {
  const limit = options.maxPerIp > 0 ? { onRequest: registrationLimit(app, options) } : {}
  app.post('/api/register/', { schema: registerSchema, ...limit }, async (request, reply) => {
    const { username, email, password, phone_number, date_of_birth, preferred_game } = request.body
    const weak = passwordProblem(password, username)
    if (weak !== undefined) throw fieldError('password', weak)
    if (typeof date_of_birth === 'string') {
      const problem = dateOfBirthProblem(date_of_birth)
      if (problem !== undefined) throw fieldError('date_of_birth', problem)
    }
    try {
      const user = await insertUser(app.db, {
        username, email, passwordHash: await hashPassword(password), phone_number, date_of_birth, preferred_game
      })
      request.log.info({ userId: user.id }, 'user registered')
      return await reply.code(201).send(user)
    } catch (err) {
      if (err instanceof TakenError) {
        throw new HttpError(409, `A user with that ${err.field} already exists.`, [{ field: err.field, message: 'is already taken' }])
      }
      throw err
    }
  })
}

export default register
