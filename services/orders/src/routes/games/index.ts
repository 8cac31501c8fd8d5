import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses, HttpError } from '@topup/service-kit'
import { insertGame, listActiveGames, updateGame } from '../../db/catalog.js'
import { isUniqueViolation } from '../../db/errors.js'
import { notBlank, trimmed } from '../fields.js'
import { CreateGameBody, Game, GameWithProducts, IdParams, UpdateGameBody } from './schemas.js'

const gameView = (g: { id: number, name: string, code: string, is_active: boolean }) => ({ id: g.id, name: g.name, game_id: g.code, is_active: g.is_active })

const games: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/games/', {
    schema: {
      tags: ['catalog'],
      summary: 'Active games with their products',
      response: { 200: Type.Array(GameWithProducts, { description: 'The active games, each with its products' }) }
    }
  }, async () => await listActiveGames(app.db))

  app.post('/api/games/', {
    onRequest: app.requireStaff,
    schema: {
      tags: ['catalog'],
      summary: 'Create a game (staff)',
      security: [{ bearerAuth: [] }],
      body: CreateGameBody,
      response: { 201: Game, ...errorResponses(400, 401, 403, 409) }
    },
    preValidation: notBlank('name', 'game_id'),
    preHandler: trimmed('name', 'game_id')
  }, async (request, reply) => {
    const { name, game_id: code, is_active: isActive = true } = request.body
    try {
      const game = await insertGame(app.db, { name, code, is_active: isActive })
      return await reply.code(201).send(gameView(game))
    } catch (err) {
      if (isUniqueViolation(err)) throw new HttpError(409, 'A game with this name or game_id already exists.')
      throw err
    }
  })

  app.patch('/api/games/:id', {
    onRequest: app.requireStaff,
    schema: {
      tags: ['catalog'],
      summary: 'Update a game (staff)',
      security: [{ bearerAuth: [] }],
      params: IdParams,
      body: UpdateGameBody,
      response: { 200: Game, ...errorResponses(400, 401, 403, 404, 409) }
    },
    preValidation: notBlank('name', 'game_id'),
    preHandler: trimmed('name', 'game_id')
  }, async (request) => {
    const { name, game_id: code, is_active: isActive } = request.body
    try {
      const game = await updateGame(app.db, request.params.id, {
        ...(name === undefined ? {} : { name }),
        ...(code === undefined ? {} : { code }),
        ...(isActive === undefined ? {} : { is_active: isActive })
      })
      if (game === undefined) throw new HttpError(404, 'Game not found.')
      return gameView(game)
    } catch (err) {
      if (isUniqueViolation(err)) throw new HttpError(409, 'A game with this name or game_id already exists.')
      throw err
    }
  })
}

export default games
