import { Type } from 'typebox'
import { ConfigError, loadConfig } from '@topup/service-kit'
import { serviceEnv } from '@topup/service'

import { DEV_WEBHOOK_SECRET } from './signature.js'

export { DEV_WEBHOOK_SECRET }

export const PaymentsEnv = {
  ...serviceEnv({ port: 3003, database: 'topup_payments' }),
  /** Shared with the payment gateway: signs the webhook (docs/DESIGN.md §2.2). */
  PAYMENT_WEBHOOK_SECRET: Type.String({ default: DEV_WEBHOOK_SECRET, minLength: 16 }),
  /**
   * The secret being rotated out: accepted beside PAYMENT_WEBHOOK_SECRET until
   * the provider signs with the new one (docs/OPERATORS.md, rotating the
   * webhook secret). Unset or empty: only the current secret is accepted.
   */
  PAYMENT_WEBHOOK_SECRET_PREVIOUS: Type.Optional(Type.String({ minLength: 16 })),
  /** How old (or how far in the future) a signature's timestamp may be. */
  WEBHOOK_TOLERANCE_SECONDS: Type.Integer({ default: 300, minimum: 1, maximum: 3600 }),
  PAYMENT_PROVIDER: Type.String({ default: 'sandbox', minLength: 1 }),
  /**
   * A pending transaction recorded longer ago than this is failed (reason
   * `expired`). Fractions are allowed (tests use seconds' worth); production
   * refuses less than a minute. At most a week.
   */
  PAYMENT_EXPIRY_MINUTES: Type.Number({ default: 30, exclusiveMinimum: 0, maximum: 10_080 }),
  /** Pause between two expiry sweeps of one instance; 0 = this instance does not sweep. */
  PAYMENT_EXPIRY_SWEEP_SECONDS: Type.Integer({ default: 30, minimum: 0, maximum: 3600 })
}

export type PaymentsConfig = ReturnType<typeof loadPaymentsConfig>

/**
 * The payments service's configuration. Throws a ConfigError with one line
 * per problem: besides the types, production refuses the development webhook
 * secret (as current or previous) and an expiry shorter than a minute, and a
 * previous secret must differ from the current one (a rotation to the same
 * secret is a mistake, not a rotation).
 */
export function loadPaymentsConfig (input: NodeJS.ProcessEnv = process.env) {
  const env = { ...input }
  // docker compose and shells pass an unset variable as empty: that is "no previous secret"
  if (env.PAYMENT_WEBHOOK_SECRET_PREVIOUS === '') delete env.PAYMENT_WEBHOOK_SECRET_PREVIOUS
  const config = loadConfig(PaymentsEnv, { env, devSecrets: { PAYMENT_WEBHOOK_SECRET: DEV_WEBHOOK_SECRET } })
  const problems: string[] = []
  const previous = config.PAYMENT_WEBHOOK_SECRET_PREVIOUS
  if (previous !== undefined && previous === config.PAYMENT_WEBHOOK_SECRET) {
    problems.push('PAYMENT_WEBHOOK_SECRET_PREVIOUS: must differ from PAYMENT_WEBHOOK_SECRET (unset it once the rotation is over)')
  }
  if (config.NODE_ENV === 'production') {
    if (previous === DEV_WEBHOOK_SECRET) problems.push('PAYMENT_WEBHOOK_SECRET_PREVIOUS: must not be the development default in production')
    if (config.PAYMENT_EXPIRY_MINUTES < 1) problems.push('PAYMENT_EXPIRY_MINUTES: must be at least 1 in production (fractions of a minute are for tests)')
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
