import { baseUrl, positiveInt } from '../common/settings.js'
import { GATEWAY, localUrl } from '../services.js'
import { DEV_WEBHOOK_SECRET } from '../../services/payments/src/config.js'

export interface DemoConfig {
  /** The gateway's public URL, where every request goes. */
  gateway: string
  /** The gateway's admin listener, where its /ready answers (never on the public port). */
  admin: string
  /** Signs the payment webhooks. */
  secret: string
  players: number
  days: number
  orders: number
  seed: string
  /** Requests in flight. */
  concurrency: number
  /** Optional staff login: adds a catalog when there is none, and waits for the dashboard's figures. */
  staff: { username: string | undefined, password: string | undefined }
}

/** The demo's settings (docs/demo.md); a bad number is a ScriptError naming the variable. */
export function readDemoConfig (env: NodeJS.ProcessEnv): DemoConfig {
  return {
    gateway: baseUrl(env, 'GATEWAY_URL', localUrl(GATEWAY.port)),
    admin: baseUrl(env, 'GATEWAY_ADMIN_URL', localUrl(GATEWAY.adminPort)),
    secret: env.PAYMENT_WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET,
    players: positiveInt(env, 'DEMO_PLAYERS', 300, 100_000),
    days: positiveInt(env, 'DEMO_DAYS', 60, 365),
    orders: positiveInt(env, 'DEMO_ORDERS', 3000, 1_000_000),
    seed: env.DEMO_SEED ?? 'topup-demo',
    concurrency: positiveInt(env, 'DEMO_CONCURRENCY', 32, 256),
    staff: {
      username: env.DEMO_STAFF_USERNAME ?? env.STAFF_USERNAME,
      password: env.DEMO_STAFF_PASSWORD ?? env.STAFF_PASSWORD
    }
  }
}
