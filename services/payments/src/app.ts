import { buildService, type BuildOptions } from '@topup/service-kit'
import { infrastructure } from '@topup/service'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { migrations } from '../migrations/index.js'
import type { PaymentsConfig } from './config.js'
import { subscriptions } from './handlers/index.js'
import paymentExpiry from './plugins/payment-expiry.js'
import webhook from './routes/webhook/index.js'
import { settledPayments } from './metrics.js'

/** The payments service as a plugin: transactions, the signed webhook that settles them and the sweep that expires the stuck ones. */
const paymentsApp: FastifyPluginAsyncTypebox<{ config: PaymentsConfig }> = async (app, { config }) => {
  await app.register(infrastructure, { service: 'payments', config, migrations, publishes: true, handlers: subscriptions(config.PAYMENT_PROVIDER) })
  // one counter for both ways a payment is settled
  const settled = settledPayments(app.metricsRegistry)
  await app.register(webhook, {
    secrets: { current: config.PAYMENT_WEBHOOK_SECRET, previous: config.PAYMENT_WEBHOOK_SECRET_PREVIOUS },
    toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
    provider: config.PAYMENT_PROVIDER,
    settled
  })
  await app.register(paymentExpiry, { olderThanMinutes: config.PAYMENT_EXPIRY_MINUTES, everySeconds: config.PAYMENT_EXPIRY_SWEEP_SECONDS, settled })
}

export default paymentsApp

export const buildApp = async (config: PaymentsConfig, options: BuildOptions = {}) => await buildService({
  service: 'payments',
  app: paymentsApp,
  docs: {
    title: 'payments',
    description: 'Payment transactions and the signed webhook',
    securitySchemes: {
      webhookSignature: {
        type: 'apiKey',
        in: 'header',
        name: 'X-Topup-Signature',
        description: 't=<unix seconds>,v1=<hex HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "<t>.<raw body>")>; t within 300 s of now. During a secret rotation PAYMENT_WEBHOOK_SECRET_PREVIOUS is accepted too'
      }
    }
  }
}, config, {}, options)
