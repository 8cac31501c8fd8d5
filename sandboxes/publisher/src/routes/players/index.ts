import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorResponse, errorBody, errorResponses } from '@topup/service-kit'
import { behaviourOf, nicknameOf } from '../../behaviour.js'
import { PlayerId, Server } from '../fields.js'

const Player = Type.Object({
  player_id: Type.String({ examples: ['5123456789'] }),
  server: Type.Union([Type.String(), Type.Null()], { description: 'the `server` asked for; null when none was' }),
  nickname: Type.String({ examples: ['Player5123456789'] })
})

const UnknownPlayer = Type.Object({ error: Type.Literal('unknown player') }, { description: 'no such player (ids starting with 404)' })

const players: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/players/:player_id', {
    schema: {
      tags: ['players'],
      summary: 'Look a player up before crediting them',
      description: 'Ids starting with `404` are unknown (404); ids starting with `999` find the publisher down (503, Retry-After: 1); every other id is a player called `Player<id>`.',
      params: Type.Object({ player_id: PlayerId }),
      querystring: Type.Object({ server: Type.Optional(Server) }),
      response: { 200: Player, 404: UnknownPlayer, 503: ErrorResponse, ...errorResponses(400) }
    }
  }, async (request, reply) => {
    const { player_id: playerId } = request.params
    const server = request.query.server ?? null
    switch (behaviourOf(playerId)) {
      case 'unknown-player':
        return await reply.code(404).send({ error: 'unknown player' as const })
      case 'always-unavailable':
        return await reply.code(503).header('retry-after', '1').send(errorBody(503, 'The publisher is temporarily unavailable; retry in a moment.'))
      default:
        return { player_id: playerId, server, nickname: nicknameOf(playerId) }
    }
  })
}

export default players
