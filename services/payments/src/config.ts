import { Type } from 'typebox'
import { BaseEnv, loadConfig } from '@topup/service-kit'

export const DEV_WEBHOOK_SECRET = 'dev-only-webhook-secret-change-me'

export const PaymentsEnv = {
  ...BaseEnv,
  PORT: Type.Integer({ default: 3003, minimum: 0, maximum: 65535 }),
  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/topup_payments', minLength: 1 }),
  AMQP_URL: Type.String({ default: 'amqp://guest:guest@127.0.0.1:5672', minLength: 1 }),
  BROKER_PREFIX: Type.String({ default: '' }),
  AUTH_URL: Type.String({ default: 'http://127.0.0.1:3001', minLength: 1 }),
  /** Shared with the payment gateway: signs the webhook (DESIGN §2.2). */
  PAYMENT_WEBHOOK_SECRET: Type.String({ default: DEV_WEBHOOK_SECRET, minLength: 16 }),
  /** How old (or how far in the future) a signature's timestamp may be. */
  WEBHOOK_TOLERANCE_SECONDS: Type.Integer({ default: 300, minimum: 1, maximum: 3600 }),
  PAYMENT_PROVIDER: Type.String({ default: 'sandbox', minLength: 1 })
}

export type PaymentsConfig = ReturnType<typeof loadPaymentsConfig>

export function loadPaymentsConfig (env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(PaymentsEnv, { env, devSecrets: { PAYMENT_WEBHOOK_SECRET: DEV_WEBHOOK_SECRET } })
}
