import type { FastifyInstance, FastifySchema } from 'fastify'
import proxy from '@fastify/http-proxy'
import type { GatewayConfig } from '../config.js'
import { ROUTES, SERVICES, type ServiceName } from '../routes.js'
import { groupReadiness, type UpstreamGroup } from '../upstreams.js'
import { limitBody } from './body-limit.js'
import { onUpstreamError } from './failures.js'
import { rewriteRequestHeaders, rewriteResponseHeaders } from './headers.js'
import { refuseDotSegments } from './paths.js'

/** How long `/ready` waits for each upstream's own `/ready` (service-kit gives a check 2 s). */
const READY_PROBE_TIMEOUT_MS = 1500

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
