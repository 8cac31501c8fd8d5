import { Type } from 'typebox'
import { loadConfig } from '@topup/service-kit'
import { serviceEnv } from '@topup/service'

export const DEV_WEBHOOK_SECRET = 'dev-only-webhook-secret-change-me'

export const PaymentsEnv = {
  ...serviceEnv({ port: 3003, database: 'topup_payments' }),
  /** Shared with the payment gateway: signs the webhook (docs/DESIGN.md §2.2). */
  PAYMENT_WEBHOOK_SECRET: Type.String({ default: DEV_WEBHOOK_SECRET, minLength: 16 }),
  /** How old (or how far in the future) a signature's timestamp may be. */
  WEBHOOK_TOLERANCE_SECONDS: Type.Integer({ default: 300, minimum: 1, maximum: 3600 }),
  PAYMENT_PROVIDER: Type.String({ default: 'sandbox', minLength: 1 })
}

export type PaymentsConfig = ReturnType<typeof loadPaymentsConfig>

export function loadPaymentsConfig (env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(PaymentsEnv, { env, devSecrets: { PAYMENT_WEBHOOK_SECRET: DEV_WEBHOOK_SECRET } })
}
