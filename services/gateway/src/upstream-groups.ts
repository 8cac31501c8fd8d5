import type { FastifyInstance } from 'fastify'
import { upstreamUrlsOf, type GatewayConfig } from './config.js'
import { SERVICES, type ServiceName } from './routes.js'
import { createAgent, UpstreamGroup, type Lookup } from './upstreams.js'

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
