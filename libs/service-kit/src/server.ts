import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Writable } from 'node:stream'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import closeWithGrace from 'close-with-grace'
import fastifyMetrics from 'fastify-metrics'
import errorHandling from './errors.js'
import health from './health.js'
import docs, { type DocsOptions } from './docs.js'
import { loggerOptions } from './logger.js'

export interface RouteEntry { method: string, url: string, hidden: boolean }

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route this service registered (tests compare it with the API documents). */
    routeTable: RouteEntry[]
  }
}

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>

export interface ServerOptions {
  service: string
  logLevel?: string
  bodyLimit?: number
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: Writable
  /** Trust X-Forwarded-For from these proxies (the gateway on loopback by default). */
  trustProxy?: boolean | string
  docs?: DocsOptions
}

/** `TRUST_PROXY` as Fastify takes it: 'false'/'true' as booleans, anything else (a list, `loopback`) as is. */
function trustProxyOption (value: boolean | string | undefined): boolean | string {
  if (value === undefined) return 'loopback'
  if (value === 'false') return false
  if (value === 'true') return true
  return value
}

// A request id is echoed into logs and headers: accept only short, plain ones.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The Fastify instance every service starts from: request ids, redacted pino
 * logs, trailing-slash tolerant routes, one error shape, /health, /ready and
 * an OpenAPI description of the service's routes.
 */
export function createServer (options: ServerOptions): App {
  const logger = {
    ...loggerOptions(options.service, options.logLevel ?? 'info'),
    ...(options.logStream === undefined ? {} : { stream: options.logStream })
  }
  const app = Fastify({
    logger,
    bodyLimit: options.bodyLimit ?? 1_048_576,
    trustProxy: trustProxyOption(options.trustProxy),
    genReqId (req) {
      const header = req.headers['x-request-id']
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // an unknown field is a 400 that names it, not silently dropped
    ajv: { customOptions: { allErrors: true, removeAdditional: false } },
    forceCloseConnections: 'idle'
  }).withTypeProvider<TypeBoxTypeProvider>()

  const routeTable: RouteEntry[] = []
  app.decorate('routeTable', routeTable)
  app.addHook('onRoute', (route) => {
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, hidden })
  })
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.register(errorHandling)
  app.register(health)
  // Prometheus metrics on the service's own port (never routed by the gateway).
  // One process runs one service; tests run several in one process, hence the clear.
  app.register(fastifyMetrics.default, { endpoint: '/metrics', clearRegisterOnInit: true, routeMetrics: { enabled: true } })
  app.register(docs, { title: options.service, ...options.docs })
  return app
}

/**
 * Listens, and on SIGTERM/SIGINT stops taking requests, lets in-flight work
 * finish (each plugin's onClose), closes connections and exits 0 (DESIGN §4.5).
 */
export async function startServer (app: App, listen: { host: string, port: number }): Promise<void> {
  closeWithGrace({ delay: 15_000, logger: { error: (m: string) => { app.log.error(m) } } }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })
  try {
    await app.listen(listen)
  } catch (err) {
    app.log.fatal({ err }, 'could not start')
    await app.close().catch(() => {})
    process.exit(1)
  }
}
