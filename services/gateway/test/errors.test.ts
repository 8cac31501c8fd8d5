import { request as httpRequest } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import t from 'tap'
import { startAll, startGateway, startUpstream, type Echo } from './helper.js'

interface Raw { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** A request whose body is sent chunked (no content-length). */
function chunkedPost (url: string, chunks: string[]): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('error', reject)
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

function isJson (t: { match: (found: unknown, wanted: RegExp) => boolean }, response: Response): void {
  t.match(response.headers.get('content-type'), /^application\/json/)
}

t.test('a body over BODY_LIMIT_BYTES → 413 JSON, never reaching the upstream', async (t) => {
  const { url } = await startAll(t, { BODY_LIMIT_BYTES: '1024' })
  const big = JSON.stringify({ filler: 'x'.repeat(2000) })

  const response = await fetch(`${url}/api/register/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big })
  t.equal(response.status, 413)
  isJson(t, response)
  t.same(await response.json(), { statusCode: 413, error: 'Payload Too Large', message: 'The request body is larger than the limit of 1024 bytes.' })

  const chunked = await chunkedPost(`${url}/api/register/`, [big.slice(0, 1000), big.slice(1000)])
  t.equal(chunked.status, 413, 'also when sent chunked')
  t.same(JSON.parse(chunked.body), { statusCode: 413, error: 'Payload Too Large', message: 'The request body is larger than the limit of 1024 bytes.' })

  const small = JSON.stringify({ filler: 'x'.repeat(900) })
  const ok = await fetch(`${url}/api/register/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small })
  t.equal(ok.status, 200, 'a body under the limit passes')
  t.equal((await ok.json() as Echo).body, small)

  const okChunked = await chunkedPost(`${url}/api/register/`, [small.slice(0, 500), small.slice(500)])
  t.equal(okChunked.status, 200, 'a chunked body under the limit passes')
  t.equal((JSON.parse(okChunked.body) as Echo).body, small)
})

t.test('an upstream that is down → 503 JSON naming the service', async (t) => {
  const orders = await startUpstream(t, 'orders')
  const { url } = await startGateway(t, { orders })
  const cases: Array<[string, string]> = [['/api/register/', 'auth'], ['/api/token/refresh', 'auth'], ['/api/payment/webhook/', 'payments'], ['/api/dashboard/', 'analytics']]
  for (const [path, service] of cases) {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    t.equal(response.status, 503, path)
    isJson(t, response)
    t.ok(response.headers.get('x-request-id'))
    t.same(await response.json(), { statusCode: 503, error: 'Service Unavailable', message: `The ${service} service is unavailable.` })
  }
  const get = await fetch(`${url}/api/analytics/summary/?start_date=2026-01-01`)
  t.equal(get.status, 503)
  t.same(await get.json(), { statusCode: 503, error: 'Service Unavailable', message: 'The analytics service is unavailable.' })
  t.equal((await fetch(`${url}/api/games/`)).status, 200, 'the services that are up still answer')
})

t.test('a slow upstream beyond UPSTREAM_TIMEOUT_MS → 504 JSON', async (t) => {
  const orders = await startUpstream(t, 'orders')
  const { url } = await startGateway(t, { orders }, { UPSTREAM_TIMEOUT_MS: '300' })
  const started = Date.now()
  const response = await fetch(`${url}/api/orders/?delay=2000`)
  t.equal(response.status, 504)
  isJson(t, response)
  t.same(await response.json(), { statusCode: 504, error: 'Gateway Timeout', message: 'The orders service did not answer in time.' })
  t.ok(Date.now() - started < 1500, 'the gateway did not wait for the upstream')
  const fast = await fetch(`${url}/api/orders/?delay=50`)
  t.equal(fast.status, 200, 'an upstream within the timeout answers')
})

t.test('an upstream that hangs up without answering → 502 JSON', async (t) => {
  const rude = createNetServer((socket) => { socket.destroy() })
  await new Promise<void>((resolve) => { rude.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => new Promise<void>((resolve) => { rude.close(() => { resolve() }) }))
  const { url } = await startGateway(t, { payments: `http://127.0.0.1:${(rude.address() as AddressInfo).port}` })
  const response = await fetch(`${url}/api/payment/webhook/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.equal(response.status, 502)
  isJson(t, response)
  t.same(await response.json(), { statusCode: 502, error: 'Bad Gateway', message: 'The payments service did not send a valid response.' })
})

t.test('an unknown path → 404 JSON', async (t) => {
  const { url } = await startAll(t)
  for (const path of ['/nope', '/api/', '/api/registerx', '/api/schemas/', '/register/']) {
    const response = await fetch(`${url}${path}`)
    t.equal(response.status, 404, path)
    isJson(t, response)
    t.same(await response.json(), { statusCode: 404, error: 'Not Found', message: `Route GET ${path} not found` })
  }
})
