import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HttpError } from '@topup/service-kit'
import { getProfile, TakenError, updateProfile } from '../../db/users.js'
import { noStore } from '../../no-store.js'
import { dateOfBirthProblem, fieldError } from '../../validation.js'
import { getProfileSchema, patchProfileSchema } from './schemas.js'

const GONE = 'This account no longer exists.'

const profile: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onSend', noStore)
  app.get('/api/profile/', { schema: getProfileSchema, onRequest: app.authenticate }, async (request) => {
    const found = await getProfile(app.db, request.user.sub)
    if (found === undefined) throw new HttpError(401, GONE)
    return found
  })

  app.patch('/api/profile/', { schema: patchProfileSchema, onRequest: app.authenticate }, async (request) => {
    const changes = request.body
    if (typeof changes.date_of_birth === 'string') {
      const problem = dateOfBirthProblem(changes.date_of_birth)
      if (problem !== undefined) throw fieldError('date_of_birth', problem)
    }
    try {
      const updated = await updateProfile(app.db, request.user.sub, changes)
      if (updated === undefined) throw new HttpError(401, GONE)
      request.log.info({ userId: request.user.sub, fields: Object.keys(changes) }, 'profile updated')
      return updated
    } catch (err) {
      if (err instanceof TakenError) {
        throw new HttpError(409, `A user with that ${err.field} already exists.`, [{ field: err.field, message: 'is already taken' }])
      }
      throw err
    }
  })
}

export default profile
