import { Type } from 'typebox'
import { ConfigError, loadConfig } from '@topup/service-kit'
import { serviceEnv } from '@topup/service'
import { isTimeZone } from './db/business-days.js'

export const AnalyticsEnv = {
  ...serviceEnv({ port: 3004, database: 'topup_analytics' }),
  /** The currency the platform sells in: the dashboard labels its money with it. */
  CURRENCY: Type.String({ default: 'INR', pattern: '^[A-Z]{3}$' }),
  /** CSV exports running at once: each holds one connection of a separate pool while it streams. */
  EXPORT_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 50 }),
  /**
   * The IANA time zone whose calendar days the summary, the charts and the
   * exports count in (e.g. Asia/Kolkata). The read model's aggregates are keyed
   * by it: changing it needs `npm run rebuild-days` (src/db/business-days.ts).
   */
  BUSINESS_TIMEZONE: Type.String({ default: 'UTC', minLength: 1, maxLength: 64 }),
  /**
   * A comment line on every open live stream (GET /api/analytics/live/) this
   * often. Below the gateway's UPSTREAM_TIMEOUT_MS (10 s), which cuts a
   * response that sends nothing for that long, and below common proxies' 60 s idle limit.
   */
  LIVE_HEARTBEAT_MS: Type.Integer({ default: 5000, minimum: 100, maximum: 55_000 })
}

export type AnalyticsConfig = ReturnType<typeof loadAnalyticsConfig>

/** The analytics service's configuration. Throws a ConfigError with one line per bad variable. */
export function loadAnalyticsConfig (env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(AnalyticsEnv, { env })
  if (!isTimeZone(config.BUSINESS_TIMEZONE)) {
    throw new ConfigError([`BUSINESS_TIMEZONE: must be an IANA time zone name such as UTC or Asia/Kolkata (got ${JSON.stringify(config.BUSINESS_TIMEZONE)})`])
  }
  return config
}
