import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { errorBody, HttpError } from '@topup/service-kit'
import { behaviourOf, UNAVAILABLE_CALLS } from '../../behaviour.js'
import { callsOf, countCall, findOutcome, recordOutcome, type Outcome } from '../../db/credits.js'
import type { CreditBody } from '../../db/schema.js'
import { linger } from '../../linger.js'
import { creditSchema, creditStatusSchema } from './schemas.js'

export interface CreditsOptions {
  /** How long the slow answers take (SLOW_MS). */
  slowMs: number
  /** Aborted when the sandbox shuts down: slow answers go out at once. */
  closing: AbortSignal
}

/** A refusal's reason for an unknown player (the lookup's word for it too). */
const UNKNOWN_PLAYER = 'unknown player'

function outcomeBody (requestId: string, outcome: Outcome) {
  if (outcome.status === 'refused') return { request_id: requestId, status: 'refused' as const, reason: outcome.reason }
  const { credit } = outcome
  return {
    request_id: requestId,
    status: 'credited' as const,
    credit_id: credit.credit_id,
    player_id: credit.player_id,
    amount: credit.amount,
    credited_at: credit.credited_at.toISOString()
  }
}

const unavailable = async (reply: FastifyReply): Promise<FastifyReply> =>
  await reply.code(503).header('retry-after', '1').send(errorBody(503, 'The publisher is temporarily unavailable; retry in a moment.'))

const credits: FastifyPluginAsyncTypebox<CreditsOptions> = async (app, options) => {
  app.post('/v1/credits', { schema: creditSchema }, async (request, reply) => {
    const { request_id: requestId, player_id: playerId } = request.body
    const body: CreditBody = { player_id: playerId, server: request.body.server ?? null, amount: request.body.amount, order_id: request.body.order_id ?? null }
    const behaviour = behaviourOf(playerId)
    const call = await countCall(app.db, requestId, body)
    if (call === undefined) {
      throw new HttpError(409, 'This request_id was already used with a different body.', [{ field: 'request_id', message: 'was already used with a different body' }])
    }
    const log = request.log.child({ request_id: requestId, player_id: playerId, behaviour, call })
    const answer = async (outcome: Outcome, made: boolean): Promise<FastifyReply> => {
      if (!made) void reply.header('idempotent-replayed', 'true')
      return await reply.code(outcome.status === 'credited' ? 200 : 422).send(outcomeBody(requestId, outcome))
    }

    // a request id that came to an outcome answers it again, whatever the player's behaviour
    const recorded = await findOutcome(app.db, requestId)
    if (recorded !== undefined) {
      log.info({ outcome: recorded.status }, 'repeated credit request: the first outcome answered')
      return await answer(recorded, false)
    }

    switch (behaviour) {
      case 'unknown-player': {
        const { outcome, made } = await recordOutcome(app.db, requestId, body, { status: 'refused', reason: UNKNOWN_PLAYER })
        log.info({ outcome: outcome.status }, 'credit refused: unknown player')
        return await answer(outcome, made)
      }
      case 'always-unavailable':
        log.info('answering 503 (this player\'s publisher is always down)')
        return await unavailable(reply)
      case 'unavailable-twice':
        if (call <= UNAVAILABLE_CALLS) {
          log.info('answering 503 (one of the first two calls)')
          return await unavailable(reply)
        }
        break
      case 'timeout-without-credit':
        if (call === 1) {
          log.info({ slowMs: options.slowMs }, 'first call: answering 504 after SLOW_MS, without crediting')
          const present = await linger(request, reply, options.slowMs, options.closing)
          if (!present) log.info('the client left before the 504')
          return await reply.code(504).send(errorBody(504, 'The publisher timed out.'))
        }
        break
      case 'credit-then-slow':
      case 'normal':
        break
    }

    const { outcome, made } = await recordOutcome(app.db, requestId, body, { status: 'credited' })
    if (made && outcome.status === 'credited') log.info({ credit_id: outcome.credit.credit_id }, 'credited')
    if (behaviour === 'credit-then-slow' && call === 1) {
      // the credit is committed; the answer comes after the client's timeout
      log.info({ slowMs: options.slowMs }, 'first call: credited, answering after SLOW_MS')
      const present = await linger(request, reply, options.slowMs, options.closing)
      if (!present) log.info('the client left before the answer (the credit stands)')
    }
    return await answer(outcome, made)
  })

  app.get('/v1/credits/:request_id', { schema: creditStatusSchema }, async (request, reply) => {
    const { request_id: requestId } = request.params
    const [outcome, calls] = await Promise.all([findOutcome(app.db, requestId), callsOf(app.db, requestId)])
    if (outcome === undefined) return await reply.code(404).send({ request_id: requestId, status: 'unknown' as const, calls })
    return { ...outcomeBody(requestId, outcome), calls }
  })
}

export default credits
