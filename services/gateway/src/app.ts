import type { Writable } from 'node:stream'
import { createServer, type App } from '@topup/service-kit'
import type { GatewayConfig } from './config.js'
import docs from './docs/plugin.js'
import entryPoints from './entry-points.js'
import gateway from './proxy/plugin.js'
import { upstreamGroupsOf, type UpstreamOptions } from './upstream-groups.js'

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
  app.register(entryPoints)
  app.register(docs, { upstreams, refreshMs: config.DOCS_REFRESH_MS, fetchTimeoutMs: Math.min(2000, config.UPSTREAM_TIMEOUT_MS) })
  return app
}
