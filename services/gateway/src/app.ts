import type { IncomingHttpHeaders } from 'node:http'
import type { IncomingHttpHeaders as Http2IncomingHttpHeaders } from 'node:http2'
import { pipeline, Transform, type Writable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RawServerBase, RequestGenericInterface, RouteGenericInterface } from 'fastify'
import proxy from '@fastify/http-proxy'
import { createServer, errorBody, HttpError, type App } from '@topup/service-kit'
import { upstreamUrlsOf, type GatewayConfig } from './config.js'
import { ROUTES, SERVICES, type ServiceName } from './routes.js'
import docs from './docs/plugin.js'
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
      bodyTimeout: config.UPSTREAM_TIMEOUT_MS
    })
  }
  return groups
}

// ---------------------------------------------------------------------------
// Request headers towards the upstream

type AnyHeaders = IncomingHttpHeaders | Http2IncomingHttpHeaders


/**
 * What the upstream gets besides the client's own headers (Authorization
 * included, untouched): this request's id, and who the client was.
 */
function rewriteRequestHeaders (request: FastifyRequest<RequestGenericInterface, RawServerBase>, headers: AnyHeaders): AnyHeaders {
  return {
    ...headers,
    'x-request-id': request.id,
    // only the client address the gateway determined itself (its own TRUST_PROXY
    // decides whether a forwarded header in front of it is believed): a client
    // cannot slip a made-up address to the services behind it
    'x-forwarded-for': request.ip,
    'x-forwarded-proto': request.protocol,
    'x-forwarded-host': request.host
  }
}

// ---------------------------------------------------------------------------
// Upstream failures → the DESIGN §2 error shape

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT', 'FST_REPLY_FROM_SERVICE_UNAVAILABLE'])
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT',
  'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT'])

/** The error and everything it was caused by (reply-from wraps undici's errors). */
function errorChain (error: unknown): unknown[] {
  const chain: unknown[] = []
  const queue: unknown[] = [error]
  while (queue.length > 0 && chain.length < 20) {
    const current = queue.shift()
    if (current === null || typeof current !== 'object' || chain.includes(current)) continue
    chain.push(current)
    const { cause, errors } = current as { cause?: unknown, errors?: unknown }
    if (cause !== undefined) queue.push(cause)
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]))
  }
  return chain
}

function codeOf (error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

export function upstreamFailure (service: ServiceName, error: unknown): { statusCode: number, message: string } {
  const chain = errorChain(error)
  const tooLarge = chain.find((e): e is HttpError => e instanceof HttpError && e.statusCode === 413)
  if (tooLarge !== undefined) return { statusCode: 413, message: tooLarge.message }
  const codes = chain.map(codeOf)
  if (codes.some((c) => c !== undefined && TIMED_OUT.has(c))) {
    return { statusCode: 504, message: `The ${service} service did not answer in time.` }
  }
  if (codes.some((c) => c !== undefined && UNREACHABLE.has(c))) {
    return { statusCode: 503, message: `The ${service} service is unavailable.` }
  }
  return { statusCode: 502, message: `The ${service} service did not send a valid response.` }
}

function onUpstreamError (service: ServiceName) {
  return function (reply: FastifyReply<RouteGenericInterface, RawServerBase>, { error }: { error: Error }): void {
    if (reply.sent || reply.raw.destroyed) return
    const { statusCode, message } = upstreamFailure(service, error)
    if (statusCode === 413) reply.header('connection', 'close')
    // reply-from has already logged the error itself ('response errored')
    reply.log.info({ service, statusCode }, message)
    void reply.code(statusCode).type('application/json; charset=utf-8').send(errorBody(statusCode, message))
  }
}

// ---------------------------------------------------------------------------
// Body limit: the proxy streams bodies through untouched (the payment webhook's
// signature covers the raw bytes), so Fastify's own bodyLimit does not apply.

function bodyTooLarge (limit: number): HttpError {
  return new HttpError(413, `The request body is larger than the limit of ${limit} bytes.`)
}

function limitBody (limit: number) {
  return async function preParsing (request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream> {
    const declared = request.headers['content-length']
    if (declared !== undefined) {
      // Node's parser guarantees the body is exactly this long.
      if (Number(declared) > limit) {
        // do not read (and discard) the rest of a large body to keep the connection
        reply.header('connection', 'close')
        throw bodyTooLarge(limit)
      }
      return payload
    }
    // HTTP/1.1: without content-length a body comes only chunked
    if (request.headers['transfer-encoding'] === undefined) return payload
    let received = 0
    const counter = new Transform({
      transform (chunk: Buffer, _encoding, callback) {
        received += chunk.length
        if (received > limit) callback(bodyTooLarge(limit))
        else callback(null, chunk)
      }
    })
    return pipeline(payload, counter, () => {})
  }
}

// ---------------------------------------------------------------------------

export interface GatewayOptions {
  config: GatewayConfig
  upstreams: Record<ServiceName, UpstreamGroup>
}

/**
 * The gateway: one proxy per public prefix (src/routes.ts), paths forwarded
 * unchanged and spread over every instance of the service (src/upstreams.ts),
 * and `/ready` reporting every instance.
 */
export default async function gateway (app: FastifyInstance, { config, upstreams }: GatewayOptions): Promise<void> {
  const timeout = config.UPSTREAM_TIMEOUT_MS

  for (const service of SERVICES) {
    app.addReadinessCheck(service, () => groupReadiness(upstreams[service], Math.min(READY_PROBE_TIMEOUT_MS, timeout)))
  }

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
    logStream: options.logStream
  })
  const upstreams = upstreamGroupsOf(app, config, options)
  app.register(gateway, { config, upstreams })
  app.register(docs, { upstreams, refreshMs: config.DOCS_REFRESH_MS, fetchTimeoutMs: Math.min(2000, config.UPSTREAM_TIMEOUT_MS) })
  return app
}
