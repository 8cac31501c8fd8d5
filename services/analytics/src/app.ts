import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import helmet from '@fastify/helmet'
import { buildService, type BuildOptions } from '@topup/service-kit'
import { infrastructure } from '@topup/service'
import { migrations } from '../migrations/index.js'
import type { AnalyticsConfig } from './config.js'
import { ensureBusinessTimeZone } from './db/business-days.js'
import { subscriptions } from './handlers/index.js'
import live from './plugins/live.js'
import dashboard, { loadDashboardAssets } from './routes/dashboard/index.js'
import exportRoutes from './routes/export/index.js'
import liveRoutes from './routes/live/index.js'
import lookup from './routes/lookup/index.js'
import summary from './routes/summary/index.js'

export interface AnalyticsAppOptions {
  /** The clock (tests pin "today"). */
  now?: () => Date
}

/**
 * The page's Content-Security-Policy: everything from this origin only (the
 * page, its script, its CSS, Chart.js, the API calls), nothing inline, no
 * framing. Chart.js draws on canvas and sets element styles through the
 * CSSOM, which style-src does not restrict.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"]
}

/** The analytics service as a plugin: the read model, the staff summary, its live stream, the order lookup, the dashboard and the CSV exports. */
const analyticsApp: FastifyPluginAsyncTypebox<AnalyticsAppOptions & { config: AnalyticsConfig }> = async (app, { config, now = () => new Date() }) => {
  // first: a missing CSS build stops the start at once, before any connection is tried
  const assets = loadDashboardAssets()
  await app.register(helmet, {
    // exactly the directives above (helmet's defaults add upgrade-insecure-requests, wrong behind a plain-HTTP gateway)
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // the page is served over HTTP in development; HSTS belongs to whatever terminates TLS
    strictTransportSecurity: false,
    frameguard: { action: 'deny' }
  })
  await app.register(infrastructure, { service: 'analytics', config, migrations, handlers: subscriptions })
  // before the consumer starts (on ready): the stored days must be in BUSINESS_TIMEZONE, or the start stops saying how to rebuild them
  await ensureBusinessTimeZone(app.db, config.BUSINESS_TIMEZONE)
  await app.register(live, { databaseUrl: config.DATABASE_URL })
  await app.register(summary, { currency: config.CURRENCY, timezone: config.BUSINESS_TIMEZONE, now })
  await app.register(liveRoutes, { heartbeatMs: config.LIVE_HEARTBEAT_MS })
  await app.register(lookup)
  await app.register(exportRoutes, { databaseUrl: config.DATABASE_URL, concurrency: config.EXPORT_CONCURRENCY })
  await app.register(dashboard, { assets })
}

export default analyticsApp

export const buildApp = async (config: AnalyticsConfig, options: BuildOptions & { now?: () => Date } = {}) => await buildService({
  service: 'analytics',
  app: analyticsApp,
  docs: { title: 'analytics', description: 'Read model of orders and payments, the staff dashboard and CSV exports' }
}, config, options.now === undefined ? {} : { now: options.now }, options.logStream === undefined ? {} : { logStream: options.logStream })
