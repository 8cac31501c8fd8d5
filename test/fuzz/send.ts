/**
 * One fuzzed HTTP request, sent with a deadline, and the checks every answer
 * must pass whatever was sent: no 5xx, an answer within the deadline, and the
 * docs/DESIGN.md §2 error body on every 4xx.
 */
import { Agent, request as httpRequest } from 'node:http'

/** How long any request may take before it counts as a hang. */
export const REQUEST_TIMEOUT_MS = Number(process.env.FUZZ_REQUEST_TIMEOUT_MS ?? 5000)

export interface FuzzRequest {
  method: string
  /** The operation as documented (`POST /api/topup/`). */
  operation: string
  /** Path and query as sent. */
  url: string
  headers: Record<string, string>
  body?: string | Uint8Array
  /** What the generator meant to send (for messages). */
  note: string
}

export interface FuzzResponse {
  /** 0 when the connection was reset before an answer (see `send`). */
  status: number
  text: string
  contentType: string
  ms: number
}

/** The platform's default body limit (BODY_LIMIT_BYTES); bodies above it are refused. */
export const OVERSIZED_BODY_BYTES = 1_048_576

export function bodyLength (request: FuzzRequest): number {
  if (request.body === undefined) return 0
  return typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.length
}

// One keep-alive pool for the whole run (node:http rather than fetch: it
// sends what it is given, with no content-type of its own for a body).
const agent = new Agent({ keepAlive: true, maxSockets: 16 })

/** Node's limit on the request line and headers together (--max-http-header-size). */
export const HEAD_LIMIT_BYTES = 16_384

/** The size of the request line and headers, about as sent. */
export function headBytes (request: FuzzRequest): number {
  return request.method.length + request.url.length + 12 + Object.entries(request.headers).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v, 'latin1') + 4, 0)
}

export function closeAgent (): void { agent.destroy() }

/** Sends the request; a request that gets no whole answer within the deadline throws. */
export async function send (baseUrl: string, request: FuzzRequest): Promise<FuzzResponse> {
  const started = Date.now()
  const target = new URL(baseUrl)
  return await new Promise<FuzzResponse>((resolve, reject) => {
    const fail = (why: string): void => { reject(new Error(`${describe(request)}: ${why} after ${Date.now() - started} ms`)) }
    // A head near the limit gets a connection of its own: the 431 the servers
    // answer does not say "Connection: close" although they close the
    // connection (Fastify's default client error handler), so a pooled
    // connection would fail the next request sent on it (socket.test.ts
    // checks that answer; here it must not hurt its neighbours).
    const ownConnection = headBytes(request) > HEAD_LIMIT_BYTES - 2048
    // node:http frames a body by itself only for POST, PUT and PATCH: a GET or
    // DELETE body would go out unframed and be read as the next request
    const headers = request.body === undefined ? request.headers : { ...request.headers, 'content-length': String(bodyLength(request)) }
    const req = httpRequest({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers, agent: ownConnection ? false : agent }, (res) => {
      // a live stream (the dashboard's Server-Sent Events) is answered by its head and
      // its first bytes, and stays open by design: the answer is that head; then let go
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream') && res.statusCode === 200) {
        clearTimeout(timer)
        resolve({ status: 200, text: '', contentType: String(res.headers['content-type']), ms: Date.now() - started })
        req.destroy()
        return
      }
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => { chunks.push(chunk) })
      res.on('error', (err) => { fail(`response broken (${err.message})`) })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? ''), ms: Date.now() - started })
      })
    })
    const timer = setTimeout(() => { req.destroy(); fail(`no whole answer within ${REQUEST_TIMEOUT_MS} ms (a hang)`) }, REQUEST_TIMEOUT_MS)
    req.on('error', (err) => {
      clearTimeout(timer)
      const code = (err as NodeJS.ErrnoException).code ?? ''
      // A server may answer 413 to a body over its limit and close without
      // reading it; the kernel then resets the connection and the client can
      // lose that answer. Only then is a reset not a failure.
      if ((code === 'ECONNRESET' || code === 'EPIPE') && bodyLength(request) > OVERSIZED_BODY_BYTES) {
        resolve({ status: 0, text: '', contentType: '', ms: Date.now() - started })
        return
      }
      fail(`no answer (${code} ${err.message})`)
    })
    req.end(request.body)
  })
}

/**
 * The text with every character outside printable ASCII (line breaks aside)
 * written as \uXXXX: fuzzed bytes (NUL, lone surrogates, BOMs) would
 * otherwise reach tap's report, which does not survive all of them.
 */
export function printable (s: string): string {
  return s.replace(/[^\x20-\x7e\n]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** At most `n` characters of the text, printable. */
export const clip = (s: string, n = 300): string => printable(s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s)

/** The request in one line, enough to reproduce it by hand. */
export function describe (request: FuzzRequest): string {
  const body = request.body === undefined ? '' : ` body=${clip(typeof request.body === 'string' ? JSON.stringify(request.body) : `<${request.body.length} bytes: ${JSON.stringify(Buffer.from(request.body).toString('latin1').slice(0, 200))}>`)}`
  const headers = Object.entries(request.headers).map(([k, v]) => `${k}: ${clip(v, 80)}`).join('; ')
  return printable(`${request.method} ${clip(request.url, 200)} [${request.operation}; ${request.note}] headers={${headers}}${body}`)
}

/**
 * The answer's problems whatever the request was (empty when none): a 5xx,
 * or a 4xx without `{ statusCode, error, message }` (statusCode equal to the
 * status, error and message non-empty strings).
 */
export function answerProblems (request: FuzzRequest, res: FuzzResponse): string[] {
  const problems: string[] = []
  if (res.status >= 500) problems.push(`${res.status} (a 5xx) for ${describe(request)}: ${clip(res.text)}`)
  if (res.status >= 400 && res.status < 500) {
    let body: unknown
    try {
      body = JSON.parse(res.text)
    } catch {
      body = undefined
    }
    const b = body as { statusCode?: unknown, error?: unknown, message?: unknown } | undefined
    const ok = b !== undefined && b !== null && typeof b === 'object' && b.statusCode === res.status &&
      typeof b.error === 'string' && b.error !== '' && typeof b.message === 'string' && b.message !== ''
    if (!ok || !res.contentType.includes('application/json')) {
      problems.push(`${res.status} without the JSON error body {statusCode, error, message} (content-type ${JSON.stringify(res.contentType)}) for ${describe(request)}: ${clip(res.text)}`)
    }
  }
  return problems
}
