import type { Writable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { createServer, tokens, type App } from '@topup/service-kit'
import { messaging } from '@topup/messaging'
import type { PaymentsConfig } from './config.js'
import { subscriptions } from './handlers/index.js'
import db from './plugins/db.js'
import webhook from './routes/webhook/index.js'

/** The payments service as a plugin: transactions and the signed webhook that settles them. */
const paymentsApp: FastifyPluginAsyncTypebox<{ config: PaymentsConfig }> = async (app, { config }) => {
  await app.register(tokens, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, jwksBaseUrl: config.AUTH_URL })
  await app.register(db, { url: config.DATABASE_URL })
  await app.register(messaging, {
    url: config.AMQP_URL,
    prefix: config.BROKER_PREFIX,
    service: 'payments',
    db: app.db as unknown as Kysely<object>,
    databaseUrl: config.DATABASE_URL,
    publishes: true,
    handlers: subscriptions(config.PAYMENT_PROVIDER)
  })
  await app.register(webhook, { secret: config.PAYMENT_WEBHOOK_SECRET, toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS, provider: config.PAYMENT_PROVIDER })
}

export default paymentsApp

export async function buildApp (config: PaymentsConfig, options: { logStream?: Writable } = {}): Promise<App> {
  const app = createServer({
    service: 'payments',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    ...(options.logStream === undefined ? {} : { logStream: options.logStream }),
    docs: {
      title: 'payments',
      description: 'Payment transactions and the signed webhook',
      securitySchemes: {
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Topup-Signature',
          description: 't=<unix seconds>,v1=<hex HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "<t>.<raw body>")>; t within 300 s of now'
        }
      }
    }
  })
  // not encapsulated: server and tests see the app's decorators (db, messaging)
  await app.register(fp(paymentsApp, { name: 'payments-app' }), { config })
  return app
}
