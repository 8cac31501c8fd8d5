import { Type } from 'typebox'
import { loadConfig } from '@topup/service-kit'
import { serviceEnv } from '@topup/service'

export const AnalyticsEnv = {
  ...serviceEnv({ port: 3004, database: 'topup_analytics' }),
  /** The currency the platform sells in: the dashboard labels its money with it. */
  CURRENCY: Type.String({ default: 'INR', pattern: '^[A-Z]{3}$' }),
  /** CSV exports running at once: each holds one connection of a separate pool while it streams. */
  EXPORT_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 50 })
}

export type AnalyticsConfig = ReturnType<typeof loadAnalyticsConfig>

export function loadAnalyticsConfig (env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(AnalyticsEnv, { env })
}
