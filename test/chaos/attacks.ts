/**
 * A burst of malformed and aborted connections at the gateway's public port:
 * the pipelined-garbage request of issue 9 (a valid proxied request and
 * garbage on the same socket, the socket destroyed while the first request is
 * still upstream), half-sent headers, half-sent bodies, resets right after a
 * request, binary noise, an absurd HTTP version, an oversized header and
 * fetches aborted after a few ms. Raw sockets because no HTTP client sends
 * these on purpose.
 */
import { connect } from 'node:net'
import { call, Limiter, sleep } from './load.js'

export interface BurstResult {
  connections: number
  /** Connections per kind. */
  kinds: Record<string, number>
  /** The first bytes the gateway answered, counted by status line (or "closed" with no answer). */
  answers: Record<string, number>
  ms: number
}

type Kind = 'pipelined-garbage' | 'half-headers' | 'half-body' | 'reset-after-request' | 'binary-noise' | 'bad-version' | 'huge-header' | 'fetch-abort'

const KINDS: readonly Kind[] = ['pipelined-garbage', 'half-headers', 'half-body', 'reset-after-request', 'binary-noise', 'bad-version', 'huge-header', 'fetch-abort']

/** Writes `payload`, then after `holdMs` closes (or resets) the socket; resolves with the first status line seen. */
function rawConnection (host: string, port: number, payload: string | Buffer, end: 'destroy' | 'reset' | 'wait', holdMs: number): Promise<string> {
  return new Promise((resolve) => {
    let first = ''
    const socket = connect({ host, port }, () => {
      socket.write(payload)
      if (end !== 'wait') setTimeout(() => { if (end === 'reset') socket.resetAndDestroy(); else socket.destroy() }, holdMs)
      else setTimeout(() => { socket.destroy() }, 3000)
    })
    socket.setTimeout(5000, () => { socket.destroy() })
    socket.on('data', (chunk: Buffer) => {
      if (first === '') first = chunk.toString('latin1').split('\r\n', 1)[0] ?? ''
    })
    socket.on('error', () => {})
    socket.on('close', () => { resolve(first === '' ? 'closed' : first.replace(/^HTTP\/1\.[01] /, '')) })
  })
}

export async function malformedBurst (gateway: string, token: string, count = 240): Promise<BurstResult> {
  const url = new URL(gateway)
  const host = url.hostname
  const port = Number(url.port)
  const started = Date.now()
  const limiter = new Limiter(24)
  const result: BurstResult = { connections: 0, kinds: {}, answers: {}, ms: 0 }
  const auth = `Authorization: Bearer ${token}\r\n`
  const topup = JSON.stringify({ gamename: 'clash of clan', game_id: 'coc123', product_name: 'UC Pack 500', product_id: 4, product_price: '699.00' })

  const one = async (kind: Kind, i: number): Promise<string> => {
    switch (kind) {
      case 'pipelined-garbage':
        // issue 9's crash: the socket dies (400 for the garbage) while the first request is upstream
        return await rawConnection(host, port, `GET /api/${i % 2 === 0 ? 'games' : 'orders'}/ HTTP/1.1\r\nHost: x\r\n${i % 2 === 0 ? '' : auth}\r\nGARBAGE\r\n\r\n`, 'wait', 0)
      case 'half-headers':
        return await rawConnection(host, port, `GET /api/games/ HTTP/1.1\r\nHost: x\r\nX-Half: ${'a'.repeat(i % 50)}`, 'destroy', 1 + (i % 30))
      case 'half-body':
        return await rawConnection(host, port, `POST /api/topup/ HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${topup.length}\r\n\r\n${topup.slice(0, 20)}`, i % 2 === 0 ? 'destroy' : 'reset', 1 + (i % 20))
      case 'reset-after-request':
        return await rawConnection(host, port, `GET /api/orders/ HTTP/1.1\r\nHost: x\r\n${auth}\r\n`, 'reset', i % 10)
      case 'binary-noise':
        return await rawConnection(host, port, Buffer.from(Array.from({ length: 64 }, (_v, j) => (i * 31 + j * 17) % 256)), 'wait', 0)
      case 'bad-version':
        return await rawConnection(host, port, 'GET /api/games/ HTTP/9.9\r\nHost: x\r\n\r\n', 'wait', 0)
      case 'huge-header':
        return await rawConnection(host, port, `GET /api/games/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, 'wait', 0)
      case 'fetch-abort': {
        const answer = await call(gateway, 'GET', '/api/orders/', { token, abortAfterMs: 1 + (i % 20) })
        return answer.status === 0 ? (answer.aborted === true ? 'aborted' : 'no answer') : String(answer.status)
      }
    }
  }

  await Promise.all(Array.from({ length: count }, (_v, i) => limiter.run(async () => {
    const kind = KINDS[i % KINDS.length] as Kind
    result.connections++
    result.kinds[kind] = (result.kinds[kind] ?? 0) + 1
    const answer = await one(kind, i)
    const label = `${kind}: ${answer.slice(0, 40)}`
    result.answers[label] = (result.answers[label] ?? 0) + 1
    await sleep(5)
  })))
  result.ms = Date.now() - started
  return result
}
