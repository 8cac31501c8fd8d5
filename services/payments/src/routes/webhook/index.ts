import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { errorResponses, HttpError } from '@topup/service-kit'
import { recordWebhookCall, webhookCallRow, type ReceivedCall, type WebhookAudit } from '../../db/audit.js'
import type { MatchedSecret } from '../../db/schema.js'
import { outcomeOf, settlePayment } from '../../payments/settle-payment.js'
import type { SettledCounter } from '../../metrics.js'
import { verifySignature, type WebhookSecrets } from '../../signature.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact bytes the signature covers. */
    rawBody?: Buffer
    /** Which webhook secret verified the call (set once the signature checks out). */
    matchedSecret?: MatchedSecret
    /** What the audit says of this call; `recorded` when it was written with the settlement itself. */
    webhookAudit?: WebhookAudit & { recorded?: boolean }
  }
}

const WebhookBody = Type.Object({
  // maxLength: Ajv's uuid format also takes a "urn:uuid:" prefix, which PostgreSQL does not
  transaction_id: Type.String({ format: 'uuid', maxLength: 36 }),
  status: Type.Union([Type.Literal('success'), Type.Literal('failed')])
}, {
  additionalProperties: false,
  examples: [{ transaction_id: '9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70', status: 'success' }]
})

const WebhookResult = Type.Object({
  transaction_id: Type.String({ format: 'uuid', examples: ['9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70'] }),
  status: Type.Union([Type.Literal('success'), Type.Literal('failed')], { examples: ['success'] }),
  changed: Type.Boolean({ description: 'false when the same status was reported again' })
}, { description: "The transaction's status after this call" })

const MALFORMED = Symbol('malformed JSON')

export interface WebhookOptions {
  /** The current secret and, during a rotation, the previous one: a call signed with either is accepted. */
  secrets: WebhookSecrets
  toleranceSeconds: number
  provider: string
  /** Counts each settlement (reason webhook). */
  settled?: SettledCounter
}

const webhook: FastifyPluginAsyncTypebox<WebhookOptions> = async (app, options) => {
  // Encapsulated: only this route keeps the raw body, which the signature covers.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer
    request.rawBody = raw
    try {
      done(null, JSON.parse(raw.toString('utf8')))
    } catch {
      done(null, MALFORMED)
    }
  })

  const received = (request: FastifyRequest): ReceivedCall => ({ requestId: request.id, remoteAddress: request.ip, body: request.rawBody?.toString('utf8') ?? '' })

  app.addHook('onSend', async (request, reply, payload) => {
    const audit = request.webhookAudit ?? { signatureValid: false, outcome: 'rejected before the signature check' }
    if (audit.recorded === true) return payload
    try {
      await recordWebhookCall(app.db, webhookCallRow(received(request), audit, reply.statusCode))
    } catch (err) {
      request.log.error({ err }, 'could not record the webhook call')
    }
    return payload
  })

  app.post('/api/payment/webhook/', {
    schema: {
      tags: ['payments'],
      summary: 'Payment result from the payment gateway (signed)',
      description: 'Signed with `X-Topup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. A transaction moves only pending → success or pending → failed; the same status again is a 200 that changes nothing, the other terminal status a 409. Unknown transaction → 404 (retry later).',
      security: [{ webhookSignature: [] }],
      headers: Type.Object({
        'x-topup-signature': Type.String({
          description: 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>',
          examples: ['t=1795600000,v1=5f8a0c3e9d4b2a1f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f']
        })
      }),
      body: WebhookBody,
      response: { 200: WebhookResult, ...errorResponses(400, 401, 404, 409) }
    },
    preValidation: async (request) => {
      const check = verifySignature(request.headers['x-topup-signature'] as string | undefined, options.secrets, request.rawBody ?? Buffer.alloc(0), options.toleranceSeconds)
      if (!check.ok) {
        request.webhookAudit = { signatureValid: false, outcome: check.reason }
        request.log.warn({ reason: check.reason }, 'webhook signature rejected')
        throw new HttpError(401, 'Invalid or missing webhook signature.')
      }
      request.matchedSecret = check.secret
      if ((request.body as unknown) === MALFORMED) {
        request.webhookAudit = { signatureValid: true, secret: check.secret, outcome: 'malformed JSON' }
        throw new HttpError(400, 'Malformed JSON body.')
      }
      // what the audit says if schema validation refuses the body
      request.webhookAudit = { signatureValid: true, secret: check.secret, outcome: 'invalid body' }
    }
  }, async (request, reply) => {
    const { transaction_id: transactionId, status } = request.body
    const secret = request.matchedSecret ?? 'current'
    const audit = { signatureValid: true, transactionId, status, secret }
    // what the audit says if the settlement itself fails (a 500)
    request.webhookAudit = { ...audit, outcome: 'settlement failed' }
    const settlement = await settlePayment(app.db, { transactionId, status, provider: options.provider, at: new Date(), call: received(request), secret })
    request.webhookAudit = { ...audit, outcome: outcomeOf(settlement, status), recorded: settlement.kind === 'settled' }
    if (settlement.kind !== 'missing' && settlement.row.correlation_id !== null) {
      // from here on (this line and the request's own) the call carries its order's trace
      const log = request.log.child({ correlation_id: settlement.row.correlation_id })
      request.log = log
      reply.log = log
    }
    if (settlement.kind !== 'missing' && settlement.kind !== 'settled' && settlement.row.failure_reason === 'expired') {
      // the provider reported after the expiry sweep failed the payment: a success here
      // means money taken for a failed order, which an operator must reconcile
      const log = status === 'success' ? request.log.warn.bind(request.log) : request.log.info.bind(request.log)
      log({ transactionId, orderId: settlement.row.order_id, status }, 'webhook for an expired transaction')
    }
    switch (settlement.kind) {
      case 'missing': throw new HttpError(404, 'Unknown transaction.')
      case 'conflict': throw new HttpError(409, `Transaction is already ${settlement.row.status}.`)
      case 'unchanged': return { transaction_id: transactionId, status, changed: false }
      case 'settled':
        options.settled?.inc({ status, reason: 'webhook' })
        // `matched_secret`, not `secret`: a field named secret is redacted from every log line, and which
        // secret matched (current or previous) is what an operator watches during a rotation
        request.log.info({ transactionId, status, matched_secret: secret }, 'payment settled')
        return { transaction_id: transactionId, status, changed: true }
    }
  })
}

export default webhook
