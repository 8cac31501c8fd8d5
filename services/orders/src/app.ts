import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { buildService, type BuildOptions } from '@topup/service-kit'
import { infrastructure } from '@topup/service'
import { migrations } from '../migrations/index.js'
import type { OrdersConfig } from './config.js'
import { loadDemoCatalog } from './demo-catalog.js'
import { subscriptions } from './handlers/index.js'
import { isAnsweredKey } from './db/idempotency.js'
import orderRateLimit from './plugins/order-rate-limit.js'
import games from './routes/games/index.js'
import orders from './routes/orders/index.js'
import products from './routes/products/index.js'
import topup, { backdatingPolicy } from './routes/topup/index.js'

/** The orders service as a plugin: catalog, top-up orders, and the order's side of the payment story. */
const ordersApp: FastifyPluginAsyncTypebox<{ config: OrdersConfig }> = async (app, { config }) => {
  await app.register(infrastructure, { service: 'orders', config, migrations, publishes: true, handlers: subscriptions })
  if (config.DEMO_CATALOG && config.NODE_ENV !== 'production' && await loadDemoCatalog(app.db)) {
    app.log.info('demo catalog loaded')
  }
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

export const buildApp = async (config: OrdersConfig, options: BuildOptions = {}) =>
  await buildService({ service: 'orders', app: ordersApp, docs: { title: 'orders', description: 'Catalog and top-up orders' } }, config, {}, options)
