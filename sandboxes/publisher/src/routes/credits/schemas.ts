import { Type } from 'typebox'
import { ErrorResponse, errorResponses } from '@topup/service-kit'
import { Amount, OrderId, PlayerId, RequestId, Server } from '../fields.js'

export const CreditRequest = Type.Object({
  // the caller's idempotency key
  request_id: RequestId,
  player_id: PlayerId,
  server: Type.Optional(Server),
  amount: Amount,
  order_id: Type.Optional(OrderId)
}, {
  additionalProperties: false,
  examples: [{ request_id: 'fulfil:9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70', player_id: '5123456789', server: 'asia-1', amount: '500 UC', order_id: '9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70' }]
})

const creditedFields = {
  request_id: Type.String(),
  status: Type.Literal('credited'),
  credit_id: Type.String({ format: 'uuid' }),
  player_id: Type.String(),
  amount: Type.String({ examples: ['500 UC'] }),
  credited_at: Type.String({ format: 'date-time' })
}

const refusedFields = {
  request_id: Type.String(),
  status: Type.Literal('refused'),
  reason: Type.String({ examples: ['unknown player'] })
}

const calls = Type.Integer({ minimum: 0, description: 'how many POST /v1/credits calls this request id has had' })

export const Credited = Type.Object(creditedFields, { description: 'the credit made (a repeat: the first one, with `Idempotent-Replayed: true`)' })
export const Refused = Type.Object(refusedFields, { description: 'refused for good (recorded: a repeat answers the same)' })

export const creditSchema = {
  tags: ['credits'],
  summary: 'Credit in-game currency to a player (idempotent per request_id)',
  description: [
    'Misbehaves on purpose by the player id\'s prefix (calls counted per request id, in the database):',
    '`404` refused for good (422); `503` a 503 with Retry-After: 1 for the first two calls of each request id, then credited;',
    '`504` the first call waits SLOW_MS and answers 504 without crediting; `202` the first call credits, then answers only after SLOW_MS;',
    '`999` a 503 for every call; anything else credited at once.',
    '`request_id` is the caller\'s idempotency key: a repeat answers the first outcome and never credits again; the same id with a different body → 409.'
  ].join(' '),
  body: CreditRequest,
  // 503 and 504 named (not through errorResponses) so the handler's reply is typed for them
  response: { 200: Credited, 422: Refused, 503: ErrorResponse, 504: ErrorResponse, ...errorResponses(400, 409, 415) }
}

export const creditStatusSchema = {
  tags: ['credits'],
  summary: 'What became of a request id (ask this after a timeout, before calling again)',
  params: Type.Object({ request_id: RequestId }),
  response: {
    200: Type.Union([
      Type.Object({ ...creditedFields, calls }, { description: 'credited: its credit' }),
      Type.Object({ ...refusedFields, calls }, { description: 'refused for good' })
    ]),
    404: Type.Object({ request_id: Type.String(), status: Type.Literal('unknown'), calls }, { description: 'never seen, or seen but never credited nor refused (a 503 or 504 answered it)' }),
    ...errorResponses(400)
  }
}
