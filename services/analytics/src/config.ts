import { Type } from 'typebox'
import { BaseEnv, loadConfig } from '@topup/service-kit'

export const AnalyticsEnv = {
  ...BaseEnv,
  PORT: Type.Integer({ default: 3004, minimum: 0, maximum: 65535 }),
  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/topup_analytics', minLength: 1 }),
  AMQP_URL: Type.String({ default: 'amqp://guest:guest@127.0.0.1:5672', minLength: 1 }),
  /** Prefix of exchange and queue names (tests isolate themselves with it). */
  BROKER_PREFIX: Type.String({ default: '' }),
  /** Where the token keys are published (auth's JWKS). */
  AUTH_URL: Type.String({ default: 'http://127.0.0.1:3001', minLength: 1 }),
  /** The currency the platform sells in: the dashboard labels its money with it. */
  CURRENCY: Type.String({ default: 'INR', pattern: '^[A-Z]{3}$' }),
  /** CSV exports running at once: each holds one connection of a separate pool while it streams. */
  EXPORT_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 50 })
}

export type AnalyticsConfig = ReturnType<typeof loadAnalyticsConfig>

export function loadAnalyticsConfig (env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(AnalyticsEnv, { env })
}
