import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { createServer, type App } from '@topup/service-kit'
import { closedUrl } from '@topup/service-kit/testing'
import { buildApp, type BuildOptions } from '../src/app.js'
import { loadGatewayConfig } from '../src/config.js'
import type { ServiceName } from '../src/routes.js'

export interface Teardown { teardown: (fn: () => unknown) => void }

/** What the echo upstream saw. */
export interface Echo {
  service: string
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  /** The raw request body, byte for byte. */
  body: string
}

export interface UpstreamOptions {
  /** `/ready` answers 503. */
  notReady?: boolean
}

function baseUrlOf (app: App): string {
  const address = app.server.address() as AddressInfo
  return `http://127.0.0.1:${address.port}`
}

/**
 * A small real service (service-kit's createServer) that echoes every request
 * as JSON. `?delay=<ms>` makes it wait before answering.
 */
export async function startUpstream (t: Teardown, service: string, options: UpstreamOptions = {}): Promise<string> {
  const app = createServer({ service, logLevel: 'silent' })
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => { done(null, body) })
  if (options.notReady === true) {
    app.register(async (instance) => {
      instance.addReadinessCheck('database', async () => { throw new Error('database down') })
    })
  }
  app.all('/*', async (request): Promise<Echo> => {
    const delay = Number((request.query as Record<string, string | undefined>).delay ?? 0)
    if (delay > 0) await sleep(delay)
    return {
      service,
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: typeof request.body === 'string' ? request.body : ''
    }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return baseUrlOf(app)
}

const URL_VARIABLE: Record<ServiceName, string> = {
  auth: 'AUTH_URL',
  orders: 'ORDERS_URL',
  payments: 'PAYMENTS_URL',
  analytics: 'ANALYTICS_URL'
}

/**
 * Builds and starts the gateway on a free port. Services not given point at a
 * port where nothing listens.
 */
export async function startGateway (
  t: Teardown,
  upstreams: Partial<Record<ServiceName, string>>,
  env: NodeJS.ProcessEnv = {},
  options: BuildOptions = {}
): Promise<{ url: string, app: App, adminUrl: string }> {
  const urls: NodeJS.ProcessEnv = {}
  for (const service of Object.keys(URL_VARIABLE) as ServiceName[]) {
    urls[URL_VARIABLE[service]] = upstreams[service] ?? await closedUrl()
  }
  const config = loadGatewayConfig({ LOG_LEVEL: 'silent', ADMIN_PORT: '0', ...urls, ...env })
  const app = buildApp(config, options)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return { url: baseUrlOf(app), app, adminUrl: adminUrlOf(app) }
}

/** Where the gateway's own /health, /ready, /metrics and /openapi.json answer. */
export function adminUrlOf (app: App): string {
  const address = app.adminServer?.address() as AddressInfo | null | undefined
  if (address === null || address === undefined) throw new Error('the gateway has no admin listener')
  return `http://127.0.0.1:${address.port}`
}

/** Every service up, each as its own echo upstream. */
export async function startAll (t: Teardown, env: NodeJS.ProcessEnv = {}): Promise<{ url: string, app: App, adminUrl: string, upstreams: Record<ServiceName, string> }> {
  const upstreams: Record<ServiceName, string> = {
    auth: await startUpstream(t, 'auth'),
    orders: await startUpstream(t, 'orders'),
    payments: await startUpstream(t, 'payments'),
    analytics: await startUpstream(t, 'analytics')
  }
  return { ...await startGateway(t, upstreams, env), upstreams }
}

/** An echo upstream that can be stopped, counting what it saw. */
export interface CountingUpstream {
  url: string
  /** Every request it answered. */
  seen: Echo[]
  stop: () => Promise<void>
}

/**
 * Like startUpstream, on a chosen address and port (port 0: any), keeping
 * what it saw; stopping it refuses further connections.
 */
export async function startCountingUpstream (t: Teardown, service: string, listen: { host?: string, port?: number } = {}): Promise<CountingUpstream> {
  const app = createServer({ service, logLevel: 'silent' })
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => { done(null, body) })
  const seen: Echo[] = []
  app.all('/*', async (request): Promise<Echo> => {
    const echo: Echo = {
      service,
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: typeof request.body === 'string' ? request.body : ''
    }
    seen.push(echo)
    return echo
  })
  const host = listen.host ?? '127.0.0.1'
  await app.listen({ host, port: listen.port ?? 0 })
  const { port } = app.server.address() as AddressInfo
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await app.close()
  }
  t.teardown(stop)
  return { url: `http://${host}:${port}`, seen, stop }
}
