import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'

const ANSWERS: Record<string, { status: number, message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time.' },
  HPE_HEADER_OVERFLOW: { status: 431, message: 'The request headers are too large.' }
}
const NOT_HTTP = { status: 400, message: 'The request could not be read as HTTP.' }

/**
 * What a client gets for bytes that are not a request Node can parse (garbage,
 * headers too large, too slow). Fastify's default answer has no
 * `Connection: close` although the socket is closed right after, so a
 * keep-alive client reused it and its next request failed with ECONNRESET.
 * Like Node's own handler, nothing is written into a connection whose
 * previous response has already begun (a pipelined request still upstream).
 */
export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const { status, message } = ANSWERS[err.code ?? ''] ?? NOT_HTTP
  const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && pending?.headersSent !== true) {
    const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message })
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n${body}`)
  }
  socket.destroy(err)
}
