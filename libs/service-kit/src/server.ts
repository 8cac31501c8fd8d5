import { randomUUID } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Writable } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import errorHandling, { errorBody } from './errors.js'
import health from './health.js'
import metrics from './metrics.js'
import docs, { type DocsOptions } from './docs.js'
import { loggerOptions } from './logger.js'
import { buildValidator, strictNumbersOnRoute } from './validation.js'
import { clientErrorHandler } from './client-errors.js'

export interface RouteEntry { method: string, url: string, hidden: boolean }

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route this service registered (tests compare it with the API documents). */
    routeTable: RouteEntry[]
    /** The admin listener, when the server has one (ServerOptions.admin); listening once the app is ready. */
    adminServer: Server | null
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
  /** Time limits on client connections (defaults: DEFAULT_TIMEOUTS). */
  timeouts?: Partial<Timeouts>
  /**
   * A second listener for operators. When set, /health, /ready, /metrics and
   * /openapi.json answer only there (the main port is public: the gateway's).
   */
  admin?: { host: string, port: number }
}

/**
 * How long a client may take. A public port must not let one slow client hold
 * a connection forever (one byte every 10 s kept 16 of 16 sockets open for
 * good before these were set).
 */
export interface Timeouts {
  /** Until the request headers have arrived (Node's headersTimeout). A real client sends them in milliseconds. */
  headersMs: number
  /** Until the whole request, body included, has arrived (requestTimeout): the 1 MiB body limit at ~40 KB/s. */
  requestMs: number
  /** An idle keep-alive connection is closed after this (keepAliveTimeout): above the 60 s idle time of common load balancers. */
  keepAliveMs: number
  /** A connection with no traffic either way for this long is closed (the socket timeout). */
  idleMs: number
}

export const DEFAULT_TIMEOUTS: Timeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000, idleMs: 60_000 }

/** The routes for operators, which the admin listener keeps off a public port. */
export const INTERNAL_ROUTES = new Set(['/health', '/ready', '/metrics', '/openapi.json'])

/** Marks a request that came in through the admin listener. */
const VIA_ADMIN = Symbol('via admin listener')

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
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  const logger = {
    ...loggerOptions(options.service, options.logLevel ?? 'info'),
    // stdout written asynchronously: synchronous writes (pino's default) were 10-20 % of a
    // service's CPU under load (bench CPU profile); lines written while one write is in
    // flight go out together with the next. pino flushes what is left when the process exits.
    stream: options.logStream ?? pino.destination({ dest: 1, sync: false })
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
    // an unknown field is a 400 that names it, not silently dropped; verbose: each error
    // keeps its schema, from which errors.ts says what the field must be in plain words
    ajv: { customOptions: { allErrors: true, removeAdditional: false, verbose: true } },
    schemaController: { compilersFactory: { buildValidator: buildValidator() } },
    forceCloseConnections: 'idle',
    logController: new OneLinePerRequest(),
    clientErrorHandler,
    // errors Fastify meets before routing (a path that is not valid percent-encoding)
    // get the platform's error shape, not Fastify's own body with its internal code
    frameworkErrors: frameworkError,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    http: serverTimeouts(timeouts)
  }).withTypeProvider<TypeBoxTypeProvider>()

  const routeTable: RouteEntry[] = []
  app.decorate('routeTable', routeTable)
  app.addHook('onRoute', (route) => {
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, hidden })
    strictNumbersOnRoute(route)
  })
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    // every answer, JSON and errors included, is taken for what its content type says
    reply.header('x-content-type-options', 'nosniff')
  })
  closeKeptAliveConnectionsOnClose(app)
  app.decorate('adminServer', null)
  if (options.admin !== undefined) adminListener(app, options.admin, timeouts)
  app.register(errorHandling)
  app.register(health)
  // Prometheus metrics on the service's own port (never routed by the gateway)
  app.register(metrics, { service: options.service })
  app.register(docs, { title: options.service, ...options.docs })
  return app
}

/**
 * Node's `server.close()` closes the connections idle at that moment, but one
 * whose response is still in flight stays open after that response as an idle
 * keep-alive connection, until the keep-alive timeout (72 s): shutdown would
 * wait that long and be killed. While closing, answers say `Connection: close`,
 * and connections that fall idle are closed as they do.
 */
function closeKeptAliveConnectionsOnClose (app: App): void {
  let sweeper: NodeJS.Timeout | undefined
  app.addHook('preClose', async () => {
    sweeper = setInterval(() => { app.server.closeIdleConnections() }, CLOSING_SWEEP_MS)
    sweeper.unref()
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (sweeper !== undefined && !reply.raw.headersSent) reply.header('connection', 'close')
    return payload
  })
  app.addHook('onClose', async () => { clearInterval(sweeper) })
}

/** How often, while closing, connections that went idle are looked for. */
const CLOSING_SWEEP_MS = 50

/**
 * One line per request, when it is answered: what was asked, the answer, how
 * long it took. Fastify's default is two lines (incoming, completed); at info
 * on the hot path each line is a write, in every service a request crosses.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest (): void {}
  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error !== null && error !== undefined) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}

function frameworkError (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff')
  if (error.code === 'FST_ERR_BAD_URL') {
    void reply.code(400).send(errorBody(400, 'The request path is not valid URL encoding.'))
    return
  }
  request.log.warn({ code: error.code, reason: error.message }, 'request refused before routing')
  void reply.code(400).send(errorBody(400, 'The request could not be routed.'))
}

function serverTimeouts (timeouts: Timeouts): { headersTimeout: number, requestTimeout: number, connectionsCheckingInterval: number } {
  const headersTimeout = Math.min(timeouts.headersMs, timeouts.requestMs)
  return {
    headersTimeout,
    requestTimeout: timeouts.requestMs,
    // Node checks both limits on this interval (30 s by default, which would let a
    // 10 s header limit run to 40 s)
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4)))
  }
}

/**
 * The admin listener: a plain HTTP server on its own address that hands every
 * request to the same Fastify routing, marked as coming from there. The
 * internal routes answer 404 on the main port.
 */
function adminListener (app: App, listen: { host: string, port: number }, timeouts: Timeouts): void {
  app.addHook('onRequest', async (request, reply) => {
    if (INTERNAL_ROUTES.has(request.routeOptions.url ?? '') && (request.raw as IncomingMessage & { [VIA_ADMIN]?: boolean })[VIA_ADMIN] !== true) {
      return await reply.callNotFound()
    }
  })
  app.addHook('onReady', async () => {
    const server = createHttpServer(serverTimeouts(timeouts), (req, res) => {
      (req as IncomingMessage & { [VIA_ADMIN]?: boolean })[VIA_ADMIN] = true
      app.routing(req, res)
    })
    server.keepAliveTimeout = timeouts.keepAliveMs
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(listen.port, listen.host, () => { server.off('error', reject); resolve() })
    })
    app.adminServer = server
    app.log.info({ address: server.address() }, 'admin listener (health, readiness, metrics, openapi.json)')
  })
  app.addHook('onClose', async () => {
    const server = app.adminServer
    if (server === null) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  })
}

/**
 * Listens, and on SIGTERM/SIGINT stops taking requests, lets in-flight work
 * finish (each plugin's onClose), closes connections and exits 0 (docs/DESIGN.md §4.5).
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
