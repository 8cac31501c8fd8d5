import { connect, type Socket } from 'node:net'
import { createServer as createHttpServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { LogCapture, waitFor } from '@topup/service-kit/testing'
import { startAll, startGateway, startUpstream } from './helper.js'

/** Everything the server sends on one raw connection until it closes it (or `waitMs` passes). */
function rawExchange (port: number, chunks: Array<string | { pauseMs: number }>, waitMs = 3000): Promise<{ text: string, closedByServer: boolean }> {
  return new Promise((resolve) => {
    let text = ''
    let closedByServer = false
    const socket: Socket = connect(port, '127.0.0.1', () => {
      void (async () => {
        for (const chunk of chunks) {
          if (socket.destroyed) return
          if (typeof chunk === 'string') socket.write(chunk)
          else await sleep(chunk.pauseMs)
        }
      })()
    })
    const timer = setTimeout(() => { socket.destroy(); resolve({ text, closedByServer }) }, waitMs)
    socket.on('data', (data) => { text += data.toString('latin1') })
    socket.on('error', () => {})
    socket.on('close', () => { closedByServer = true; clearTimeout(timer); resolve({ text, closedByServer }) })
  })
}

function portOf (url: string): number { return Number(new URL(url).port) }

/** The status line and headers of a raw response. */
function headPart (text: string): string { return text.split('\r\n\r\n')[0] ?? '' }

t.test('a pipelined malformed request while the first is still upstream ends that connection only', async (t) => {
  const { url, adminUrl } = await startAll(t)
  // the command of the issue, with the upstream answering after the socket is gone
  const { text } = await rawExchange(portOf(url), ['GET /api/games/?delay=200 HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n'], 1500)
  t.match(text, /^HTTP\/1\.1 400 /, 'the garbage gets a 400 from Node')
  await sleep(400) // the upstream's answer arrives for a client that is gone
  const ready = await fetch(`${adminUrl}/ready`)
  t.equal(ready.status, 200, 'the gateway is still ready')
  t.equal((await fetch(`${url}/api/games/`)).status, 200, 'and still proxies')
})

t.test('clients that give up mid-request: no crash, one info line each, no stack', async (t) => {
  const logs = new LogCapture()
  const upstreams = { orders: await startUpstream(t, 'orders'), auth: await startUpstream(t, 'auth'), payments: await startUpstream(t, 'payments'), analytics: await startUpstream(t, 'analytics') }
  const { url, adminUrl } = await startGateway(t, upstreams, { LOG_LEVEL: 'info' }, { logStream: logs })
  const aborts: Array<Promise<unknown>> = []
  for (let i = 0; i < 200; i++) {
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 1 + (i % 20))
    aborts.push(fetch(`${url}/api/games/?delay=${10 + (i % 30)}`, { signal: controller.signal }).then((r) => r.arrayBuffer()).catch(() => 'aborted'))
  }
  // POST bodies cut off halfway, and sockets reset just after their request went out
  for (let i = 0; i < 20; i++) {
    aborts.push(rawExchange(portOf(url), ['POST /api/topup/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"game', { pauseMs: 20 }], 50))
    aborts.push(rawExchange(portOf(url), ['GET /api/orders/?delay=50 HTTP/1.1\r\nHost: x\r\n\r\n'], 10))
  }
  // and ten that certainly reached the upstream before their client left, five of them
  // POSTs whose whole body had arrived (reply-from then sends the answer to a closed socket)
  for (let i = 0; i < 10; i++) {
    const request = i % 2 === 0
      ? `GET /api/orders/?delay=400 HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-${i}\r\n\r\n`
      : `POST /api/topup/?delay=400 HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-${i}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`
    aborts.push(rawExchange(portOf(url), [request], 150))
  }
  await Promise.all(aborts)
  await waitFor('the ten certain aborts to be logged', () => logs.lines.filter((l) => l.includes('"reqId":"gone-') && l.includes('client closed the connection')).length >= 10, 10_000)
  t.equal((await fetch(`${adminUrl}/ready`)).status, 200, 'the gateway is still ready after 240 aborted requests')
  t.equal((await fetch(`${url}/api/games/`)).status, 200, 'and still proxies')
  const entries = logs.entries()
  const errors = entries.filter((e) => Number(e.level) >= 50)
  t.same(errors, [], 'no error-level line')
  t.notOk(logs.text.includes('"stack"'), 'no stack trace in any line')
  const aborted = entries.filter((e) => e.msg === 'client closed the connection before the response')
  for (let i = 0; i < 10; i++) {
    t.equal(aborted.filter((e) => e.reqId === `gone-${i}`).length, 1, `client gone-${i} is logged once`)
  }
  t.ok(aborted.every((e) => e.level === 30), 'at info')
  const perRequest = new Map<unknown, number>()
  for (const e of entries) if (e.reqId !== undefined && (e.msg === 'client closed the connection before the response' || e.msg === 'response errored')) perRequest.set(e.reqId, (perRequest.get(e.reqId) ?? 0) + 1)
  t.ok([...perRequest.values()].every((n) => n === 1), 'at most one line about each aborted request')
})

t.test('Expect: 100-continue is answered and the body forwarded', async (t) => {
  const { url } = await startAll(t)
  const body = JSON.stringify({ transaction_id: 'x', status: 'success' })
  const result = await new Promise<{ status: number, continued: boolean, body: string }>((resolve, reject) => {
    let continued = false
    const req = httpRequest(`${url}/api/payment/webhook/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' }
    }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, continued, body: text }) })
    })
    req.on('continue', () => { continued = true; req.end(body) })
    req.on('error', reject)
  })
  t.ok(result.continued, '100 Continue came first')
  t.equal(result.status, 200, 'then the upstream\'s answer (not a 502)')
  const echo = JSON.parse(result.body) as { body: string, headers: Record<string, string> }
  t.equal(echo.body, body, 'the body reached the upstream byte for byte')
  t.equal(echo.headers.expect, undefined, 'the expectation was met by the gateway, not passed on')
})

t.test('Connection: close and HTTP/1.0 are honoured', async (t) => {
  const { url } = await startAll(t)
  const close = await rawExchange(portOf(url), ['GET /api/games/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])
  t.match(close.text, /^HTTP\/1\.1 200 /)
  t.match(close.text, /\r\nconnection: close\r\n/i, 'the response says close')
  t.notMatch(headPart(close.text), /keep-alive/i, 'no keep-alive copied from the upstream')
  t.ok(close.closedByServer, 'and the gateway closes the connection')

  const old = await rawExchange(portOf(url), ['GET /api/games/ HTTP/1.0\r\nHost: x\r\n\r\n'])
  t.match(old.text, /^HTTP\/1\.1 200 /)
  t.notMatch(headPart(old.text), /keep-alive/i, 'HTTP/1.0 without keep-alive gets no keep-alive')
  t.ok(old.closedByServer, 'the connection is closed after the response')

  const keep = await rawExchange(portOf(url), ['GET /api/games/ HTTP/1.1\r\nHost: x\r\n\r\n'], 500)
  t.match(keep.text, /^HTTP\/1\.1 200 /)
  t.notOk(keep.closedByServer, 'an HTTP/1.1 client keeps its connection')
})

t.test('slow clients are cut: headers and bodies that never finish', async (t) => {
  const { url, adminUrl } = await startAll(t, { HEADERS_TIMEOUT_MS: '400', REQUEST_TIMEOUT_MS: '800' })
  const port = portOf(url)
  const started = Date.now()
  const drip = Array.from({ length: 40 }, (_, i) => [String(i % 10), { pauseMs: 100 }]).flat()
  const [slowBody, slowHeaders] = await Promise.all([
    rawExchange(port, ['POST /api/topup/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n', ...drip], 6000),
    rawExchange(port, ['GET /api/games/ HTTP/1.1\r\n', ...drip.map((c) => typeof c === 'string' ? `X-${c}: y\r\n` : c)], 6000)
  ])
  const elapsed = Date.now() - started
  t.ok(slowBody.closedByServer, 'a body sent one byte at a time is cut off')
  t.ok(slowHeaders.closedByServer, 'headers sent one line at a time are cut off')
  t.ok(elapsed < 4000, `both within the limits, not after the whole drip (${elapsed} ms)`)
  t.match(slowBody.text, /^HTTP\/1\.1 408 /, 'the slow body gets 408')
  t.equal((await fetch(`${adminUrl}/ready`)).status, 200, 'the gateway is unharmed')
})

t.test('the upstream answering after the client is gone, many times over, leaks nothing', async (t) => {
  const { url, app } = await startAll(t)
  const port = portOf(url)
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 40 }, () => rawExchange(port, ['GET /api/orders/?delay=30 HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\n'], 100)))
  }
  await waitFor('connections to drain', async () => {
    const count = await new Promise<number>((resolve) => { app.server.getConnections((_err, n) => { resolve(n) }) })
    return count === 0
  }, 5000)
  t.pass('every client connection is closed')
})

t.test('a client that leaves while the answer is streaming: one info line, no error, no stack', async (t) => {
  // an upstream that sends its headers at once and its body slowly
  const slow = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('[')
    let n = 0
    const timer = setInterval(() => {
      if (++n === 20) { clearInterval(timer); res.end('0]'); return }
      res.write('0,')
    }, 25)
    res.on('close', () => { clearInterval(timer) })
  })
  await new Promise<void>((resolve) => { slow.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => new Promise<void>((resolve) => { slow.closeAllConnections(); slow.close(() => { resolve() }) }))
  const logs = new LogCapture()
  const { url, adminUrl } = await startGateway(t, { orders: `http://127.0.0.1:${(slow.address() as AddressInfo).port}` }, { LOG_LEVEL: 'info' }, { logStream: logs })
  await Promise.all(Array.from({ length: 20 }, (_, i) => new Promise<void>((resolve) => {
    const socket = connect(portOf(url), '127.0.0.1', () => { socket.write(`GET /api/games/ HTTP/1.1\r\nHost: x\r\nX-Request-Id: streaming-${i}\r\n\r\n`) })
    socket.once('data', () => { socket.destroy() }) // the status line arrived: leave
    socket.on('error', () => {})
    socket.on('close', () => { resolve() })
  })))
  await sleep(800)
  t.equal((await fetch(`${adminUrl}/ready`)).status, 503, 'the gateway still answers (503: only orders runs here)')
  const entries = logs.entries()
  t.same(entries.filter((e) => Number(e.level) >= 50).map((e) => e.msg), [], 'no error-level line')
  t.notOk(logs.text.includes('"stack"'), 'no stack trace')
  for (let i = 0; i < 20; i++) {
    const lines = entries.filter((e) => e.reqId === `streaming-${i}` && e.msg === 'client closed the connection before the response')
    t.equal(lines.length, 1, `streaming-${i}: one line`)
  }
})

t.test('dot segments in any spelling are refused before the proxy resolves them', async (t) => {
  const { url } = await startAll(t)
  for (const path of ['/api/orders/%2E', '/api/orders/%2e%2E/x', '/api/orders/.%2e', '/api/games/%2E/', '/api/orders/./1']) {
    const { text } = await rawExchange(portOf(url), [`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`])
    t.match(text, /^HTTP\/1\.1 400 /, `${path} → 400`)
    t.match(text, /may not contain .* segments, plain or percent-encoded/, `${path}: the reason`)
  }
  t.equal((await fetch(`${url}/api/orders/1%2E5`)).status, 200, 'a dot inside a segment is not a dot segment')
})

t.test('a path that is not valid percent-encoding gets the platform\'s error body', async (t) => {
  const { url } = await startAll(t)
  const res = await fetch(`${url}/api/games/%E0%A4%A`)
  t.equal(res.status, 400)
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  t.same(await res.json(), { statusCode: 400, error: 'Bad Request', message: 'The request path is not valid URL encoding.' })
})

t.test('an unparsable request is answered with Connection: close, so a keep-alive client does not reuse the socket', async (t) => {
  const { url } = await startAll(t)
  const { text } = await rawExchange(portOf(url), [`GET /api/games/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`])
  t.match(text, /^HTTP\/1\.1 431 /)
  t.match(headPart(text), /\r\nConnection: close/i)
  t.match(text, /"message":"The request headers are too large\."/)
  const garbage = await rawExchange(portOf(url), ['NOT HTTP AT ALL\r\n\r\n'])
  t.match(garbage.text, /^HTTP\/1\.1 400 /)
  t.match(headPart(garbage.text), /\r\nConnection: close/i)
})
