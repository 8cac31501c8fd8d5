import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import { createServer, tokens, type App } from '@topup/service-kit'
import { messaging } from '@topup/messaging'
import type { Writable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { AnalyticsConfig } from './config.js'
import { subscriptions } from './handlers/index.js'
import db from './plugins/db.js'
import dashboard, { loadDashboardAssets } from './routes/dashboard/index.js'
import exportRoutes from './routes/export/index.js'
import summary from './routes/summary/index.js'

export interface AnalyticsAppOptions {
  config: AnalyticsConfig
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

/** The analytics service as a plugin: the read model, the staff summary, the dashboard and the CSV exports. */
const analyticsApp: FastifyPluginAsyncTypebox<AnalyticsAppOptions> = async (app, { config, now = () => new Date() }) => {
  // first: a missing CSS build stops the start at once, before any connection is tried
  const assets = loadDashboardAssets()
  await app.register(helmet, {
    // exactly the directives above (helmet's defaults add upgrade-insecure-requests, wrong behind a plain-HTTP gateway)
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // the page is served over HTTP in development; HSTS belongs to whatever terminates TLS
    strictTransportSecurity: false,
    frameguard: { action: 'deny' }
  })
  await app.register(tokens, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, jwksBaseUrl: config.AUTH_URL })
  await app.register(db, { url: config.DATABASE_URL })
  await app.register(messaging, {
    url: config.AMQP_URL,
    prefix: config.BROKER_PREFIX,
    service: 'analytics',
    db: app.db as unknown as Kysely<object>,
    handlers: subscriptions
  })
  await app.register(summary, { currency: config.CURRENCY, now })
  await app.register(exportRoutes, { databaseUrl: config.DATABASE_URL, concurrency: config.EXPORT_CONCURRENCY })
  await app.register(dashboard, { assets })
}

export default analyticsApp

export async function buildApp (config: AnalyticsConfig, options: { logStream?: Writable, now?: () => Date } = {}): Promise<App> {
  const app = createServer({
    service: 'analytics',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    ...(options.logStream === undefined ? {} : { logStream: options.logStream }),
    docs: { title: 'analytics', description: 'Read model of orders and payments, the staff dashboard and CSV exports' }
  })
  // not encapsulated: server and tests see the app's decorators (db, messaging, exportStats)
  await app.register(fp(analyticsApp, { name: 'analytics-app' }), { config, ...(options.now === undefined ? {} : { now: options.now }) })
  return app
}
