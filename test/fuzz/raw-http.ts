/**
 * HTTP/1.1 at the socket level: send exactly these bytes (in these pieces, at
 * this pace, then maybe reset), and see exactly what came back and whether
 * the server closed the connection.
 *
 * Hand-written because an HTTP client library is what these tests must not
 * use: every client normalises framing, refuses to pipeline garbage, and
 * hides interim responses and connection closes. The response parser is
 * small on purpose (status line, headers, Content-Length or chunked body; a
 * response it cannot read is kept as `unparsed` bytes, never guessed at).
 */
import { connect, type Socket } from 'node:net'
import { printable } from './send.js'

export type Step =
  | string
  | Buffer
  | { pause: number }
  /** Waits until this many responses (interim ones included) have arrived, or `timeoutMs`. */
  | { awaitResponses: number, timeoutMs?: number }
  /** Waits until at least this many response bytes have arrived, or `timeoutMs`. */
  | { awaitBytes: number, timeoutMs?: number }
  /** TCP reset (RST), as a client that crashes or is killed. */
  | { reset: true }
  /** Half-close: the client has nothing more to send. */
  | { end: true }

export interface RawResponse {
  version: string
  status: number
  reason: string
  headers: Record<string, string>
  body: Buffer
}

export interface Exchange {
  responses: RawResponse[]
  /** Bytes after the last response that are not one. */
  unparsed: string
  /** The server closed (or reset) the connection. */
  closedByServer: boolean
  /** When the server closed it, in ms from the start. */
  closedAtMs: number | undefined
  error: string | undefined
  /** Bytes of the steps actually written before the connection went away. */
  bytesWritten: number
  ms: number
}

/** Responses in `data`, as far as they are complete. */
export function parseResponses (data: Buffer): { responses: RawResponse[], rest: Buffer } {
  const responses: RawResponse[] = []
  let offset = 0
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', offset)
    if (headEnd < 0) break
    const lines = data.subarray(offset, headEnd).toString('latin1').split('\r\n')
    const statusLine = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(lines[0] ?? '')
    if (statusLine === null) break
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value
    }
    const status = Number(statusLine[2])
    let bodyStart = headEnd + 4
    let body: Buffer
    if (status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0)
    } else if (headers['transfer-encoding']?.toLowerCase().includes('chunked') === true) {
      const chunks: Buffer[] = []
      let at = bodyStart
      let complete = false
      for (;;) {
        const lineEnd = data.indexOf('\r\n', at)
        if (lineEnd < 0) break
        const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
        if (Number.isNaN(size)) break
        if (size === 0) {
          // the last chunk, then trailers (usually none) up to an empty line
          const trailersEnd = data.indexOf('\r\n\r\n', lineEnd)
          if (trailersEnd >= 0) { at = trailersEnd + 4; complete = true }
          break
        }
        if (lineEnd + 2 + size + 2 > data.length) break
        chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
      }
      if (!complete) break
      body = Buffer.concat(chunks)
      bodyStart = at
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length'])
      if (bodyStart + length > data.length) break
      body = data.subarray(bodyStart, bodyStart + length)
      bodyStart += length
    } else {
      // no framing: the body runs to the end of the connection
      body = data.subarray(bodyStart)
      bodyStart = data.length
    }
    responses.push({ version: statusLine[1] ?? '', status, reason: statusLine[3] ?? '', headers, body })
    offset = status < 200 ? headEnd + 4 : bodyStart
  }
  return { responses, rest: data.subarray(offset) }
}

/**
 * Runs the steps on a fresh connection to 127.0.0.1:port, then waits until
 * the server closes the connection or `waitMs` have passed (then it closes
 * it itself).
 */
export async function exchange (port: number, steps: readonly Step[], options: { waitMs?: number } = {}): Promise<Exchange> {
  const waitMs = options.waitMs ?? 2000
  const started = Date.now()
  const socket: Socket = connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  let data = Buffer.alloc(0)
  let closedByServer = false
  let closedAtMs: number | undefined
  let error: string | undefined
  let weClosed = false
  let bytesWritten = 0
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      if (!weClosed) { closedByServer = true; closedAtMs = Date.now() - started }
      resolve()
    })
  })
  socket.on('data', (chunk: Buffer) => { data = Buffer.concat([data, chunk]) })
  socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code ?? err.message })
  const open = (): boolean => !socket.destroyed && closedAtMs === undefined
  await new Promise<void>((resolve) => {
    socket.once('connect', () => { resolve() })
    socket.once('error', () => { resolve() })
  })
  for (const step of steps) {
    if (!open()) break
    if (typeof step === 'string' || Buffer.isBuffer(step)) {
      const bytes = typeof step === 'string' ? Buffer.from(step, 'latin1') : step
      await new Promise<void>((resolve) => { socket.write(bytes, () => { resolve() }) })
      bytesWritten += bytes.length
    } else if ('pause' in step) {
      await Promise.race([new Promise((resolve) => setTimeout(resolve, step.pause)), closed])
    } else if ('awaitResponses' in step) {
      const deadline = Date.now() + (step.timeoutMs ?? 3000)
      while (open() && Date.now() < deadline && parseResponses(data).responses.length < step.awaitResponses) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    } else if ('awaitBytes' in step) {
      const deadline = Date.now() + (step.timeoutMs ?? 3000)
      while (open() && Date.now() < deadline && data.length < step.awaitBytes) {
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    } else if ('reset' in step) {
      weClosed = true
      socket.resetAndDestroy()
    } else {
      socket.end()
    }
  }
  if (!socket.destroyed) {
    const timer = setTimeout(() => { weClosed = true; socket.destroy() }, Math.max(0, waitMs - (Date.now() - started)))
    await closed
    clearTimeout(timer)
  } else {
    await closed
  }
  const { responses, rest } = parseResponses(data)
  return { responses, unparsed: rest.toString('latin1'), closedByServer, closedAtMs, error, bytesWritten, ms: Date.now() - started }
}

/** One line per response, for messages. */
export function summary (x: Exchange): string {
  const parts = x.responses.map((r) => `${r.version} ${r.status}${r.headers.connection === undefined ? '' : ` (connection: ${r.headers.connection})`}`)
  if (x.unparsed !== '') parts.push(`unparsed ${JSON.stringify(x.unparsed.slice(0, 120))}`)
  parts.push(x.closedByServer ? `closed by the server after ${x.closedAtMs} ms` : 'still open when the client gave up')
  if (x.error !== undefined) parts.push(`socket error ${x.error}`)
  return printable(parts.join('; '))
}
