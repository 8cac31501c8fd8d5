import type { Writable } from 'node:stream'
import type { FastifyInstance, FastifySchema } from 'fastify'
import proxy from '@fastify/http-proxy'
import { createServer, type App } from '@topup/service-kit'
import { upstreamUrlsOf, type GatewayConfig } from './config.js'
import { ROUTES, SERVICES, type ServiceName } from './routes.js'
import docs from './docs/plugin.js'
import { limitBody } from './proxy/body-limit.js'
import { onUpstreamError } from './proxy/failures.js'
import { rewriteRequestHeaders, rewriteResponseHeaders } from './proxy/headers.js'
import { refuseDotSegments } from './proxy/paths.js'
import { createAgent, groupReadiness, UpstreamGroup, type Lookup } from './upstreams.js'

/** How long `/ready` waits for each upstream's own `/ready` (service-kit gives a check 2 s). */
const READY_PROBE_TIMEOUT_MS = 1500

export interface UpstreamOptions {
  /** How host names are resolved (tests inject one); dns.lookup by default. */
  lookup?: Lookup
}

/** Every service's instances, over one shared agent (closed with the app). */
export function upstreamGroupsOf (app: FastifyInstance, config: GatewayConfig, options: UpstreamOptions = {}): Record<ServiceName, UpstreamGroup> {
  const agent = createAgent(config.UPSTREAM_TIMEOUT_MS)
  app.addHook('onClose', async () => { await agent.close() })
  const urls = upstreamUrlsOf(config)
  const groups = {} as Record<ServiceName, UpstreamGroup>
  for (const service of SERVICES) {
    groups[service] = new UpstreamGroup({
      service,
      urls: urls[service],
      agent,
      ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
      resolveTtlMs: config.UPSTREAM_RESOLVE_TTL_MS,
      ejectMs: config.UPSTREAM_EJECT_MS,
      headersTimeout: config.UPSTREAM_TIMEOUT_MS,
      bodyTimeout: config.UPSTREAM_TIMEOUT_MS,
      // logged, never swallowed: the request it belonged to has failed, the process goes on
      onError: (err) => { app.log.error({ err, service }, 'proxying a response failed') }
    })
  }
  return groups
}

export interface GatewayOptions {
  config: GatewayConfig
  upstreams: Record<ServiceName, UpstreamGroup>
}

/**
 * The gateway: one proxy per public prefix (src/routes.ts), paths forwarded
 * unchanged and spread over every instance of the service (src/upstreams.ts),
 * and `/ready` (on the admin listener) reporting every instance.
 */
export default async function gateway (app: FastifyInstance, { config, upstreams }: GatewayOptions): Promise<void> {
  const timeout = config.UPSTREAM_TIMEOUT_MS

  for (const service of SERVICES) {
    app.addReadinessCheck(service, () => groupReadiness(upstreams[service], Math.min(READY_PROBE_TIMEOUT_MS, timeout)))
  }

  app.addHook('onRequest', refuseDotSegments)
  app.addHook('preParsing', limitBody(config.BODY_LIMIT_BYTES))
  // each service documents its own routes; the proxy's catch-alls stay out of the gateway's /openapi.json
  app.addHook('onRoute', (route) => { route.schema = { ...route.schema, hide: true } as FastifySchema })

  for (const route of ROUTES) {
    const group = upstreams[route.service]
    await app.register(proxy, {
      upstream: group.base,
      prefix: route.prefix,
      rewritePrefix: route.prefix,
      // reply-from sends each request through the group, which picks the instance
      // (and retries on another when safe); timeouts are the group's agent's
      undici: group as unknown as NonNullable<Parameters<typeof proxy>[1]['undici']>,
      disableRequestLogging: true,
      replyOptions: {
        rewriteRequestHeaders,
        rewriteHeaders: rewriteResponseHeaders,
        onError: onUpstreamError(route.service),
        // reply-from's own retries stay off (it would retry a GET answered 503
        // up to ten times, on the same instance): the group retries instead
        retryDelay: () => null
      }
    })
  }
}

export interface BuildOptions extends UpstreamOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: Writable
}

export function buildApp (config: GatewayConfig, options: BuildOptions = {}): App {
  const app = createServer({
    service: 'gateway',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    logStream: options.logStream,
    // the gateway's port is the public one: its own health, readiness, metrics
    // and OpenAPI document answer only on the admin listener
    admin: { host: config.ADMIN_HOST, port: config.ADMIN_PORT },
    timeouts: {
      headersMs: config.HEADERS_TIMEOUT_MS,
      requestMs: config.REQUEST_TIMEOUT_MS,
      keepAliveMs: config.KEEP_ALIVE_TIMEOUT_MS,
      idleMs: config.IDLE_TIMEOUT_MS
    }
  })
  const upstreams = upstreamGroupsOf(app, config, options)
  app.register(gateway, { config, upstreams })
  app.register(docs, { upstreams, refreshMs: config.DOCS_REFRESH_MS, fetchTimeoutMs: Math.min(2000, config.UPSTREAM_TIMEOUT_MS) })
  return app
}
