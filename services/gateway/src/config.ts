import { Type } from 'typebox'
import { BaseEnv, ConfigError, loadConfig } from '@topup/service-kit'
import { SERVICES, type ServiceName } from './routes.js'

const URL_PATTERN = '^https?://[^/?#]+/?$'

const upstreamUrl = (port: number, service: string) => Type.String({
  default: `http://127.0.0.1:${port}`,
  pattern: URL_PATTERN,
  description: `Base URL of the ${service} service (scheme, host and port only); a host name that resolves to several addresses is spread over all of them`
})

const upstreamUrls = (service: string) => Type.Optional(Type.String({
  minLength: 1,
  description: `Comma-separated base URLs of the instances of the ${service} service; when set it wins over the single URL`
}))

export const GatewayEnv = {
  ...BaseEnv,
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  /** The gateway is the edge: no forwarded header in front of it is believed unless an operator names the proxy. */
  TRUST_PROXY: Type.String({ default: 'false', minLength: 1 }),
  /** The operators' listener: /health, /ready, /metrics and /openapi.json (never on the public port). */
  ADMIN_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  ADMIN_PORT: Type.Integer({ default: 8081, minimum: 0, maximum: 65535 }),
  /** A client must have sent its request headers within this (slow-header clients are cut). */
  HEADERS_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
  /** ... and its whole request, body included, within this (slow-body clients are cut). */
  REQUEST_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 100 }),
  /** An idle keep-alive client connection is closed after this (above common load balancers' 60 s). */
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ default: 72_000, minimum: 100 }),
  /** A client connection with no traffic either way for this long is closed. */
  IDLE_TIMEOUT_MS: Type.Integer({ default: 60_000, minimum: 100 }),
  AUTH_URL: upstreamUrl(3001, 'auth'),
  ORDERS_URL: upstreamUrl(3002, 'orders'),
  PAYMENTS_URL: upstreamUrl(3003, 'payments'),
  ANALYTICS_URL: upstreamUrl(3004, 'analytics'),
  AUTH_URLS: upstreamUrls('auth'),
  ORDERS_URLS: upstreamUrls('orders'),
  PAYMENTS_URLS: upstreamUrls('payments'),
  ANALYTICS_URLS: upstreamUrls('analytics'),
  /** How long an upstream may take to connect and to send its response headers (and between body chunks). */
  UPSTREAM_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 1 }),
  /** How long the addresses of an upstream host name are kept before it is looked up again (Compose: one address per container). */
  UPSTREAM_RESOLVE_TTL_MS: Type.Integer({ default: 5_000, minimum: 0 }),
  /** How long an instance that refused a connection is skipped (it is still tried when no other is left). */
  UPSTREAM_EJECT_MS: Type.Integer({ default: 2_000, minimum: 0 }),
  /** How long the merged API document is kept before the services are asked for theirs again. */
  DOCS_REFRESH_MS: Type.Integer({ default: 30_000, minimum: 0 })
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>

const LIST_VARIABLE: Record<ServiceName, 'AUTH_URLS' | 'ORDERS_URLS' | 'PAYMENTS_URLS' | 'ANALYTICS_URLS'> = {
  auth: 'AUTH_URLS',
  orders: 'ORDERS_URLS',
  payments: 'PAYMENTS_URLS',
  analytics: 'ANALYTICS_URLS'
}

const SINGLE_VARIABLE: Record<ServiceName, 'AUTH_URL' | 'ORDERS_URL' | 'PAYMENTS_URL' | 'ANALYTICS_URL'> = {
  auth: 'AUTH_URL',
  orders: 'ORDERS_URL',
  payments: 'PAYMENTS_URL',
  analytics: 'ANALYTICS_URL'
}

/** The items of a `*_URLS` list (commas and/or white space between them). */
export function splitUrlList (value: string): string[] {
  return value.split(/[\s,]+/).filter((item) => item !== '')
}

/**
 * The base URLs of each service's instances: the `*_URLS` list when it is set,
 * else the one `*_URL`.
 */
export function upstreamUrlsOf (config: GatewayConfig): Record<ServiceName, string[]> {
  const out = {} as Record<ServiceName, string[]>
  for (const service of SERVICES) {
    const list = config[LIST_VARIABLE[service]]
    out[service] = list === undefined ? [config[SINGLE_VARIABLE[service]]] : splitUrlList(list)
  }
  return out
}

export function loadGatewayConfig (env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(GatewayEnv, { env })
  const problems: string[] = []
  const pattern = new RegExp(URL_PATTERN)
  for (const service of SERVICES) {
    const variable = LIST_VARIABLE[service]
    const list = config[variable]
    if (list === undefined) continue
    const items = splitUrlList(list)
    if (items.length === 0) problems.push(`${variable}: must list at least one URL`)
    const bad = items.filter((item) => !pattern.test(item))
    if (bad.length > 0) problems.push(`${variable}: ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length === 1 ? 'is not a base URL' : 'are not base URLs'} (scheme, host and port only, e.g. http://127.0.0.1:3002)`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

