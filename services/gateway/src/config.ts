import { Type } from 'typebox'
import { BaseEnv, loadConfig } from '@topup/service-kit'

const upstreamUrl = (port: number, service: string) => Type.String({
  default: `http://127.0.0.1:${port}`,
  pattern: '^https?://[^/?#]+/?$',
  description: `Base URL of the ${service} service (scheme, host and port only)`
})

export const GatewayEnv = {
  ...BaseEnv,
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  AUTH_URL: upstreamUrl(3001, 'auth'),
  ORDERS_URL: upstreamUrl(3002, 'orders'),
  PAYMENTS_URL: upstreamUrl(3003, 'payments'),
  ANALYTICS_URL: upstreamUrl(3004, 'analytics'),
  /** How long an upstream may take to connect and to send its response headers (and between body chunks). */
  UPSTREAM_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 1 }),
  /** How long the merged API document is kept before the services are asked for theirs again. */
  DOCS_REFRESH_MS: Type.Integer({ default: 30_000, minimum: 0 })
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>

export function loadGatewayConfig (env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(GatewayEnv, { env })
}
