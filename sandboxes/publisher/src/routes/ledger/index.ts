import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '@topup/service-kit'
import { ledger } from '../../db/credits.js'
import { PlayerId } from '../fields.js'

const LedgerEntry = Type.Object({
  credit_id: Type.String({ format: 'uuid' }),
  request_id: Type.String(),
  player_id: Type.String(),
  server: Type.Union([Type.String(), Type.Null()]),
  amount: Type.String({ examples: ['500 UC'] }),
  order_id: Type.Union([Type.String(), Type.Null()]),
  credited_at: Type.String({ format: 'date-time' })
})

const ledgerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/ledger', {
    schema: {
      tags: ['ledger'],
      summary: 'Every credit made, oldest first (one entry per credit: at most one per request id)',
      querystring: Type.Object({ player_id: Type.Optional(PlayerId) }),
      response: { 200: Type.Object({ credits: Type.Array(LedgerEntry) }), ...errorResponses(400) }
    }
  }, async (request) => {
    const rows = await ledger(app.db, request.query.player_id)
    return {
      credits: rows.map((row) => ({
        credit_id: row.credit_id,
        request_id: row.request_id,
        player_id: row.player_id,
        server: row.server,
        amount: row.amount,
        order_id: row.order_id,
        credited_at: row.credited_at.toISOString()
      }))
    }
  })
}

export default ledgerRoutes
