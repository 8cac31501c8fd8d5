import { parse as parseDuration } from '@lukeed/ms'
import { Type } from 'typebox'
import { ConfigError, loadConfig } from '@topup/service-kit'
import { serviceEnv } from '@topup/service'

export const OrdersEnv = {
  ...serviceEnv({ port: 3002, database: 'topup_orders' }),
  CURRENCY: Type.String({ default: 'INR', pattern: '^[A-Z]{3}$' }),
  /** Load the demo catalog on start when the catalog is empty (development only). */
  DEMO_CATALOG: Type.Boolean({ default: true }),
  /**
   * Honour the `X-Demo-Created-At` header of POST /api/topup/ (backdated orders
   * for `npm run demo`). Unset: on in development and test, off in production;
   * `true` in production is refused.
   */
  DEMO_BACKDATING: Type.Optional(Type.Boolean()),
  /** POST /api/topup/ requests one player may make per ORDER_WINDOW (0: no limit). */
  ORDER_MAX_PER_USER: Type.Integer({ default: 30, minimum: 0 }),
  /** POST /api/topup/ requests from one client address per ORDER_WINDOW, whoever is signed in (0: no limit). */
  ORDER_MAX_PER_IP: Type.Integer({ default: 300, minimum: 0 }),
  /** The window of both limits: "1 minute", "30s", "15m", "2 hours", "500" (milliseconds). */
  ORDER_WINDOW: Type.String({ default: '1 minute', minLength: 1 })
}

export type OrdersConfig = Omit<ReturnType<typeof loadConfig<typeof OrdersEnv>>, 'DEMO_BACKDATING'> & {
  DEMO_BACKDATING: boolean
  /** ORDER_WINDOW in milliseconds. */
  orderWindowMs: number
}

/**
 * ORDER_WINDOW in milliseconds, or undefined when unreadable or not positive.
 * Read with @lukeed/ms, the parser @fastify/rate-limit itself applies to a
 * textual window, so what is accepted here is what the limiter means by it.
 */
function windowMs (text: string): number | undefined {
  const ms = parseDuration(text)
  return ms !== undefined && Number.isFinite(ms) && ms >= 1 ? Math.round(ms) : undefined
}

/**
 * The orders service's configuration. Throws a ConfigError with one line per
 * problem: besides the types, backdating (a development tool) is refused in
 * production and ORDER_WINDOW must be a readable, positive duration.
 */
export function loadOrdersConfig (env: NodeJS.ProcessEnv = process.env): OrdersConfig {
  const config = loadConfig(OrdersEnv, { env })
  const production = config.NODE_ENV === 'production'
  const problems: string[] = []
  if (production && config.DEMO_BACKDATING === true) {
    problems.push('DEMO_BACKDATING: backdated orders are for development only and cannot be enabled in production')
  }
  const orderWindowMs = windowMs(config.ORDER_WINDOW)
  if (orderWindowMs === undefined) problems.push('ORDER_WINDOW: must be a duration such as "1 minute", "30s" or "15m"')
  if (problems.length > 0 || orderWindowMs === undefined) throw new ConfigError(problems)
  return { ...config, DEMO_BACKDATING: config.DEMO_BACKDATING ?? !production, orderWindowMs }
}
