import { Type } from 'typebox'
import { BaseEnv, loadConfig } from '@topup/service-kit'

export const OrdersEnv = {
  ...BaseEnv,
  PORT: Type.Integer({ default: 3002, minimum: 0, maximum: 65535 }),
  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/topup_orders', minLength: 1 }),
  AMQP_URL: Type.String({ default: 'amqp://guest:guest@127.0.0.1:5672', minLength: 1 }),
  /** Prefix of exchange and queue names (tests isolate themselves with it). */
  BROKER_PREFIX: Type.String({ default: '' }),
  /** Where the token keys are published (auth's JWKS). */
  AUTH_URL: Type.String({ default: 'http://127.0.0.1:3001', minLength: 1 }),
  CURRENCY: Type.String({ default: 'INR', pattern: '^[A-Z]{3}$' }),
  /** Load the demo catalog on start when the catalog is empty (development only). */
  DEMO_CATALOG: Type.Boolean({ default: true })
}

export type OrdersConfig = ReturnType<typeof loadOrdersConfig>

export function loadOrdersConfig (env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(OrdersEnv, { env })
}
