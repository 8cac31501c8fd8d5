import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HttpError } from '@topup/service-kit'
import { insertUser, TakenError } from '../../db/users.js'
import { hashPassword, passwordProblem } from '../../passwords.js'
import { dateOfBirthProblem, fieldError } from '../../validation.js'
import { registerSchema } from './schemas.js'

const register: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/register/', { schema: registerSchema }, async (request, reply) => {
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
