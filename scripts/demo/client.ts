/** HTTP through the gateway, like any client: bounded requests in flight, retries of what is safe, a count of everything. */
import pLimit, { type LimitFunction } from 'p-limit'
import pRetry from 'p-retry'
import { setTimeout as sleep } from 'node:timers/promises'
import { ScriptError } from '../common/settings.js'

/** A request that did not get the answer it needed: counted as an error of the run. */
export class RequestError extends Error {
  override name = 'RequestError'
  constructor (message: string, readonly status?: number, readonly body?: unknown, readonly retryAfterSeconds?: number) {
    super(message)
  }
}

export interface Reply {
  status: number
  /** The JSON body (a string when it is not JSON; undefined when empty). */
  body: unknown
  headers: Headers
}

export interface CallOptions {
  /** Sent as JSON. */
  json?: unknown
  /** Sent as it is, as JSON (the exact bytes a webhook signature covers). */
  raw?: string
  headers?: Record<string, string>
  token?: string | undefined
}

/** The `message` of an error body, or the start of a text body. */
export function messageOf (body: unknown): string {
  if (body !== null && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message
  return typeof body === 'string' ? body.slice(0, 200) : ''
}

const REQUEST_TIMEOUT_MS = 30_000
/** The most a Retry-After is waited. */
const MAX_RETRY_AFTER_S = 10
/** Persistent trouble: stop early rather than hammer a broken system (at least this many errors, and more than this share). */
const STOP_AFTER_ERRORS = 25
const STOP_AT_ERROR_SHARE = 0.05

export class GatewayClient {
  readonly stats = { requests: 0, errors: 0, retries: 0, webhook404: 0 }
  /** The first few errors' messages, for the report. */
  readonly errorSamples: string[] = []
  private readonly inFlight: LimitFunction

  constructor (private readonly baseUrl: string, concurrency: number) {
    this.inFlight = pLimit(concurrency)
  }

  /** One request: its status, body and headers; a network failure or a timeout (30 s) throws. */
  async call (method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    return await this.inFlight(async () => {
      this.stats.requests++
      const headers: Record<string, string> = { ...options.headers }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
      let body: string | undefined
      if (options.raw !== undefined || options.json !== undefined) {
        headers['content-type'] = 'application/json'
        body = options.raw ?? JSON.stringify(options.json)
      }
      const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      const text = await response.text()
      let json: unknown
      try { json = text === '' ? undefined : JSON.parse(text) } catch { json = text }
      return { status: response.status, body: json, headers: response.headers }
    })
  }

  /**
   * A request retried on network errors, 429 and 5xx — the callers only send
   * this way what is safe to repeat: reads, logins, and top-ups carrying an
   * Idempotency-Key. Four attempts; p-retry counts them, the wait before each
   * retry is the answer's Retry-After (at most 10 s) when it gives one, else
   * 0.5, 1, 2 s. The last failure is thrown as a RequestError.
   */
  async callWithRetry (method: string, path: string, options: CallOptions = {}, attempts = 4): Promise<Reply> {
    return await pRetry(async () => {
      let reply: Reply
      try {
        reply = await this.call(method, path, options)
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause
        throw new RequestError(`${method} ${path}: ${cause?.code ?? (err as Error).message}`)
      }
      if (reply.status !== 429 && reply.status < 500) return reply
      const retryAfter = Number(reply.headers.get('retry-after'))
      throw new RequestError(`${method} ${path} → ${reply.status} ${messageOf(reply.body)}`, reply.status, reply.body,
        Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, MAX_RETRY_AFTER_S) : undefined)
    }, {
      retries: attempts - 1,
      // p-retry's own wait is none: onFailedAttempt waits (p-retry awaits it before the next attempt)
      minTimeout: 0,
      onFailedAttempt: async (error) => {
        if (error.retriesLeft === 0) return
        this.stats.retries++
        const failure: Error = error
        const retryAfter = failure instanceof RequestError ? failure.retryAfterSeconds : undefined
        await sleep(retryAfter !== undefined ? retryAfter * 1000 : 250 * 2 ** error.attemptNumber)
      }
    })
  }

  recordError (err: Error): void {
    this.stats.errors++
    if (this.errorSamples.length < 5) this.errorSamples.push(err.message)
  }

  /** A ScriptError when so many requests fail that going on would only hammer a broken system. */
  checkErrors (): void {
    const { errors, requests } = this.stats
    if (errors >= STOP_AFTER_ERRORS && errors > requests * STOP_AT_ERROR_SHARE) {
      throw new ScriptError(`too many failed requests (${errors} of ${requests}), stopping. First errors:\n  ${this.errorSamples.join('\n  ')}`)
    }
  }
}
