/**
 * Every instance of a service, and requests spread over them.
 *
 * A service is reached through one or more base URLs (`ORDERS_URLS`, or the
 * single `ORDERS_URL`). A URL whose host is a name (not an IP address) is
 * looked up again every few seconds (dns.lookup with `all`), and each address
 * it resolves to is an instance of its own: under Docker Compose,
 * `http://orders:3002` names every container of `--scale orders=3`.
 *
 * Requests go round-robin over the instances. One that fails before any
 * response is tried again on another instance when that is safe:
 *  - whatever the method, when the connection could not be made (refused,
 *    unreachable, connect timeout): nothing reached the instance;
 *  - for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE), also when the
 *    connection was reset or closed before the response began.
 * An instance that refused a connection is skipped for a moment
 * (UPSTREAM_EJECT_MS), then tried again with real traffic.
 *
 * Why not reply-from's own retries or undici's BalancedPool: reply-from picks
 * the upstream once per request (`getUpstream`) and retries on the same URL,
 * only for bodiless requests of its `retryMethods`; BalancedPool has a fixed
 * list of origins (no re-resolution) and does not retry a refused connection.
 * This class is handed to reply-from as its undici "instance" (anything with
 * `request(options, callback)`), so reply-from still does the proxying,
 * headers and error mapping, and this only chooses where each attempt goes.
 *
 * The request body is read into memory before the first attempt (the body
 * limit applies first), so a retry sends the same bytes again.
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import type { Readable } from 'node:stream'
import { Agent, type Dispatcher } from 'undici'

/** Resolves a host name to its addresses (all of them). */
export type Lookup = (hostname: string) => Promise<string[]>

export const systemLookup: Lookup = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, order: 'verbatim' })
  return found.map((a) => a.address)
}

export interface Instance {
  /** Where the connection goes: scheme, address and port. */
  origin: string
  /** The Host header: the configured URL's host (and port). */
  host: string
  /** How readiness names it: the configured URL, and the address when it came from a look-up. */
  label: string
}

export interface UpstreamGroupOptions {
  service: string
  /** Base URLs of the instances (scheme, host, port). */
  urls: string[]
  agent: Dispatcher
  lookup?: Lookup
  /** How long looked-up addresses are kept (0: every request looks up again). */
  resolveTtlMs: number
  /** How long an instance that refused a connection is skipped. */
  ejectMs: number
  headersTimeout: number
  bodyTimeout: number
  /** Told of an error that escaped reply-from's callback (logged; the process goes on). */
  onError?: (err: unknown) => void
}

/** Errors that mean the connection was never made: nothing reached the instance. */
const NOTHING_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT'])
/** Errors of a connection lost before the response began: the instance may have seen the request. */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])

function codeOf (error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

export function nothingSent (error: unknown): boolean {
  const code = codeOf(error)
  return code !== undefined && NOTHING_SENT.has(code)
}

export function safeToRetry (method: string, error: unknown): boolean {
  if (nothingSent(error)) return true
  const code = codeOf(error)
  return IDEMPOTENT.has(method.toUpperCase()) && code !== undefined && CONNECTION_LOST.has(code)
}

function isStream (body: unknown): body is Readable {
  return body !== null && typeof body === 'object' && typeof (body as { pipe?: unknown }).pipe === 'function'
}

/** The whole body, so that a retry can send it again; a stream's error (413 from the body limit) propagates. */
async function bufferBody (body: unknown): Promise<unknown> {
  if (!isStream(body)) return body
  const chunks: Buffer[] = []
  try {
    for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer)
  } catch (err) {
    // the client's own request stream failing (not our 413) means the client went away
    if (isClientAbort(err)) throw new ClientGone()
    throw err
  }
  return Buffer.concat(chunks)
}

/** The client disconnected before its request body had arrived. */
export class ClientGone extends Error {
  constructor () { super('the client closed the connection before its request body arrived') }
}

function isClientAbort (err: unknown): boolean {
  const code = codeOf(err)
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error | null)?.message === 'aborted'
}

/** A response body that reply-from discards because its client is gone. */
function ignoreDiscarded (): void {}

function defaultPort (protocol: string): string {
  return protocol === 'https:' ? '443' : '80'
}

interface Resolved { addresses: string[], expires: number }

export type RequestOptions = Dispatcher.RequestOptions
type Callback = (err: Error | null, data?: Dispatcher.ResponseData) => void

export class UpstreamGroup {
  readonly service: string
  readonly urls: URL[]
  private readonly options: UpstreamGroupOptions
  private readonly lookup: Lookup
  private readonly cache = new Map<string, Resolved>()
  private readonly pending = new Map<string, Promise<string[]>>()
  private readonly ejected = new Map<string, number>()
  private next = 0

  constructor (options: UpstreamGroupOptions) {
    if (options.urls.length === 0) throw new Error(`${options.service}: no upstream URL`)
    this.service = options.service
    this.options = options
    this.urls = options.urls.map((u) => new URL(u))
    this.lookup = options.lookup ?? systemLookup
  }

  /** The base URL reply-from is registered with (the first one; every attempt goes where `request` sends it). */
  get base (): string {
    return this.urls[0]?.origin ?? ''
  }

  private async addressesOf (hostname: string): Promise<string[]> {
    const now = Date.now()
    const cached = this.cache.get(hostname)
    if (cached !== undefined && cached.expires > now) return cached.addresses
    let pending = this.pending.get(hostname)
    if (pending === undefined) {
      pending = this.lookup(hostname).then((found) => {
        const addresses = [...new Set(found)]
        if (addresses.length === 0) throw Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' })
        this.cache.set(hostname, { addresses, expires: Date.now() + this.options.resolveTtlMs })
        return addresses
      }).catch((err: unknown) => {
        // keep using what was known (a DNS hiccup should not take the service away)
        if (cached !== undefined) return cached.addresses
        throw err
      }).finally(() => { this.pending.delete(hostname) })
      this.pending.set(hostname, pending)
    }
    return await pending
  }

  /** Every instance right now (configured URLs, names looked up). Throws when none can be found. */
  async instances (): Promise<Instance[]> {
    const out: Instance[] = []
    const seen = new Set<string>()
    let firstError: unknown
    for (const url of this.urls) {
      const port = url.port === '' ? defaultPort(url.protocol) : url.port
      // URL keeps the brackets of an IPv6 literal in hostname
      const bare = url.hostname.replace(/^\[(.*)\]$/, '$1')
      let addresses: string[]
      if (isIP(bare) !== 0) {
        addresses = [bare]
      } else {
        try {
          addresses = await this.addressesOf(bare)
        } catch (err) {
          firstError ??= err
          continue
        }
      }
      for (const address of addresses) {
        const origin = `${url.protocol}//${isIP(address) === 6 ? `[${address}]` : address}:${port}`
        if (seen.has(origin)) continue
        seen.add(origin)
        out.push({ origin, host: url.host, label: address === bare ? url.origin : `${url.origin} (${address})` })
      }
    }
    if (out.length === 0) throw firstError ?? new Error(`${this.service}: no instance`)
    return out
  }

  /** Round-robin over the instances not tried yet, those that recently refused a connection last. */
  pick (instances: Instance[], tried: ReadonlySet<string>): Instance | undefined {
    const now = Date.now()
    const untried = instances.filter((i) => !tried.has(i.origin))
    if (untried.length === 0) return undefined
    const healthy = untried.filter((i) => (this.ejected.get(i.origin) ?? 0) <= now)
    const pool = healthy.length > 0 ? healthy : untried
    const chosen = pool[this.next % pool.length]
    this.next = (this.next + 1) % 1_000_000_007
    return chosen
  }

  private eject (instance: Instance): void {
    if (this.options.ejectMs > 0) this.ejected.set(instance.origin, Date.now() + this.options.ejectMs)
  }

  /** One request, tried on further instances as long as that is safe. */
  async dispatch (options: RequestOptions): Promise<Dispatcher.ResponseData> {
    const method = String(options.method)
    const body = await bufferBody(options.body)
    const instances = await this.instances()
    const tried = new Set<string>()
    let lastError: unknown
    for (;;) {
      const instance = this.pick(instances, tried)
      if (instance === undefined) throw lastError
      tried.add(instance.origin)
      try {
        return await this.options.agent.request({
          ...options,
          origin: instance.origin,
          headers: { ...(options.headers as Record<string, string | string[] | undefined>), host: instance.host },
          body: body as RequestOptions['body'],
          headersTimeout: options.headersTimeout ?? this.options.headersTimeout,
          bodyTimeout: options.bodyTimeout ?? this.options.bodyTimeout
        })
      } catch (err) {
        lastError = err
        if (nothingSent(err)) this.eject(instance)
        if (!safeToRetry(method, err)) throw err
      }
    }
  }

  /**
   * reply-from's undici interface: `request(options, callback)`.
   *
   * Two ways a client that went away used to kill the process, both closed here:
   * - reply-from, finding the client gone when the upstream's answer arrives,
   *   calls `destroy()` on the response body with no 'error' listener, and
   *   undici's body then emits RequestAbortedError: an uncaught exception. The
   *   listener below takes it (the stream is being discarded on purpose; any
   *   other error also reaches Fastify's own listener once the body is sent).
   * - anything the callback throws would have become an unhandled rejection
   *   of this promise chain: it is caught, and the body let go.
   * A client that disconnects while its body is still arriving has nobody to
   * answer: that attempt ends here without calling back (reply-from would
   * log it as an upstream failure with a stack); the gateway's
   * onRequestAbort hook logs it once.
   */
  request (options: RequestOptions, callback: Callback): void {
    this.dispatch(options).then((data) => {
      data.body.on('error', ignoreDiscarded)
      try {
        callback(null, data)
      } catch (err) {
        data.body.destroy()
        throw err
      }
    }, (err: unknown) => {
      if (err instanceof ClientGone) return
      callback(err instanceof Error ? err : new Error(String(err)))
    }).catch((err: unknown) => {
      this.options.onError?.(err)
    })
  }

  /** The agent is shared and closed by its owner. */
  close (): Promise<void> { return Promise.resolve() }
  destroy (): Promise<void> { return Promise.resolve() }
}

// ---------------------------------------------------------------------------
// Readiness of every instance

function describeNetworkError (err: Error): string {
  const code = codeOf(err)
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found'
  return err.message === '' ? (code ?? 'request failed') : err.message
}

/** Resolves when the instance's own `/ready` answers 200. */
export function probeReady (instance: Pick<Instance, 'origin' | 'host'>, timeoutMs: number): Promise<void> {
  const url = new URL('/ready', instance.origin)
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs, headers: { accept: 'application/json', host: instance.host } }, (res) => {
      res.resume()
      if (res.statusCode === 200) resolve()
      else reject(new Error(`not ready (HTTP ${res.statusCode ?? '?'})`))
    })
    req.once('timeout', () => { req.destroy(new Error(`no answer within ${timeoutMs} ms`)) })
    req.once('error', (err) => { reject(new Error(describeNetworkError(err))) })
    req.end()
  })
}

export interface InstancesReadiness {
  /** Ready instances out of all, e.g. "2/3". */
  ready: string
  instances: Record<string, string>
}

/**
 * The readiness check of one service: fine while at least one instance is
 * ready. With one instance it answers as before (nothing, or the reason);
 * with several it lists each.
 */
export async function groupReadiness (group: UpstreamGroup, timeoutMs: number): Promise<InstancesReadiness | undefined> {
  let instances: Instance[]
  try {
    instances = await group.instances()
  } catch (err) {
    throw new Error(describeNetworkError(err as Error), { cause: err })
  }
  const [only] = instances
  if (instances.length === 1 && only !== undefined) {
    await probeReady(only, timeoutMs)
    return undefined
  }
  const results = await Promise.allSettled(instances.map((i) => probeReady(i, timeoutMs)))
  const report: Record<string, string> = {}
  let ok = 0
  results.forEach((result, index) => {
    const label = instances[index]?.label ?? String(index)
    if (result.status === 'fulfilled') {
      ok++
      report[label] = 'ok'
    } else {
      report[label] = `unavailable: ${(result.reason as Error).message}`
    }
  })
  if (ok === 0) throw new Error(`no instance ready (${Object.entries(report).map(([label, r]) => `${label} ${r.replace(/^unavailable: /, '')}`).join('; ')})`)
  return { ready: `${ok}/${instances.length}`, instances: report }
}

/** One agent for every upstream: its own pool per instance. */
export function createAgent (timeoutMs: number): Agent {
  return new Agent({
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connections: 128,
    pipelining: 1
  })
}
