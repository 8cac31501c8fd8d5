import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import fp from 'fastify-plugin'
import { createServer, tokens, type App } from '@topup/service-kit'
import { messaging } from '@topup/messaging'
import type { Writable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { OrdersConfig } from './config.js'
import { loadDemoCatalog } from './demo-catalog.js'
import { subscriptions } from './handlers/index.js'
import { isAnsweredKey } from './db/idempotency.js'
import db from './plugins/db.js'
import orderRateLimit from './plugins/order-rate-limit.js'
import games from './routes/games/index.js'
import orders from './routes/orders/index.js'
import products from './routes/products/index.js'
import topup, { backdatingPolicy } from './routes/topup/index.js'

/** The orders service as a plugin: catalog, top-up orders, and the order's side of the payment story. */
const ordersApp: FastifyPluginAsyncTypebox<{ config: OrdersConfig }> = async (app, { config }) => {
  await app.register(tokens, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, jwksBaseUrl: config.AUTH_URL })
  await app.register(db, { url: config.DATABASE_URL })
  if (config.DEMO_CATALOG && config.NODE_ENV !== 'production' && await loadDemoCatalog(app.db)) {
    app.log.info('demo catalog loaded')
  }
  await app.register(messaging, {
    url: config.AMQP_URL,
    prefix: config.BROKER_PREFIX,
    service: 'orders',
    db: app.db as unknown as Kysely<object>,
    databaseUrl: config.DATABASE_URL,
    publishes: true,
    handlers: subscriptions
  })
  await app.register(orderRateLimit, {
    maxPerUser: config.ORDER_MAX_PER_USER,
    maxPerIp: config.ORDER_MAX_PER_IP,
    windowMs: config.orderWindowMs,
    // the retry of an order already placed (its Idempotency-Key holds the response) creates
    // nothing and is answered from the database: a client retrying after a lost response is not refused
    exempt: async (request) => {
      const key = request.headers['idempotency-key']
      return typeof key === 'string' && key.length > 0 && key.length <= 255 && await isAnsweredKey(app.db, request.user.sub, key)
    }
  })
  await app.register(games)
  await app.register(products)
  const backdating = backdatingPolicy(config)
  if (backdating.allowed) app.log.info('backdated orders allowed (X-Demo-Created-At, development only)')
  await app.register(topup, { currency: config.CURRENCY, backdating })
  await app.register(orders)
}

export default ordersApp

export async function buildApp (config: OrdersConfig, options: { logStream?: Writable } = {}): Promise<App> {
  const app = createServer({
    service: 'orders',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    ...(options.logStream === undefined ? {} : { logStream: options.logStream }),
    docs: { title: 'orders', description: 'Catalog and top-up orders' }
  })
  // not encapsulated: server and tests see the app's decorators (db, messaging)
  await app.register(fp(ordersApp, { name: 'orders-app' }), { config })
  return app
}
