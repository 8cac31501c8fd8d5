import type { AddressInfo } from 'node:net'
import t from 'tap'
import { Type } from 'typebox'
import { createServer, DEFAULT_TIMEOUTS } from '../src/index.js'

function build (test: { teardown: (fn: () => unknown) => void }) {
  const app = createServer({ service: 'test', logLevel: 'silent' })
  app.post('/api/prices/', {
    schema: {
      body: Type.Object({
        product_id: Type.Integer({ minimum: 1 }),
        price: Type.Union([Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?$' }), Type.Number({ minimum: 0 })]),
        status: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failed')])),
        flag: Type.Optional(Type.Boolean())
      }, { additionalProperties: false })
    }
  }, async (request) => request.body)
  app.get('/api/things/:id', {
    schema: {
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), ratio: Type.Optional(Type.Number()) })
    }
  }, async (request) => ({ params: request.params, query: request.query }))
  test.teardown(() => app.close())
  return app
}

t.test('a body is taken as its JSON types say: no coercion', async (t) => {
  const app = build(t)
  const ok = await app.inject({ method: 'POST', url: '/api/prices/', payload: { product_id: 4, price: '699.00', status: 'success', flag: true } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { product_id: 4, price: '699.00', status: 'success', flag: true })
  t.same((await app.inject({ method: 'POST', url: '/api/prices/', payload: { product_id: 4, price: 699 } })).json(), { product_id: 4, price: 699 }, 'a JSON number price stays a number')

  const refused: Array<[string, Record<string, unknown>, string]> = [
    ['an id as text', { product_id: '4', price: '1' }, 'product_id'],
    ['a hexadecimal id', { product_id: '0x4', price: '1' }, 'product_id'],
    ['a price in nested arrays', { product_id: 4, price: [[699]] }, 'price'],
    ['a hexadecimal price', { product_id: 4, price: '0x2BB' }, 'price'],
    ['a status in an array', { product_id: 4, price: '1', status: ['success'] }, 'status'],
    ['a boolean as text', { product_id: 4, price: '1', flag: 'true' }, 'flag'],
    ['null for a number', { product_id: null, price: '1' }, 'product_id']
  ]
  for (const [what, payload, field] of refused) {
    const res = await app.inject({ method: 'POST', url: '/api/prices/', payload })
    t.equal(res.statusCode, 400, `${what} → 400`)
    const body = res.json<{ details: Array<{ field: string }> }>()
    t.ok(body.details.some((d) => d.field === field), `${what}: names ${field}`)
  }
})

t.test('path and query numbers: plain digits only', async (t) => {
  const app = build(t)
  const ok = await app.inject({ method: 'GET', url: '/api/things/12?limit=5&ratio=0.5' })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { params: { id: 12 }, query: { limit: 5, ratio: 0.5 } }, 'digits are still read as numbers')
  for (const id of ['0x1', '%201', '1e0', '+1', '01', '1.0', '1%20', '-0x1', 'Infinity']) {
    const res = await app.inject({ method: 'GET', url: `/api/things/${id}` })
    t.equal(res.statusCode, 400, `id ${id} → 400`)
    t.match(res.json(), { message: 'Invalid params: id must be a whole number written in digits (e.g. 42)', details: [{ field: 'id' }] })
  }
  for (const limit of ['0x10', '1e1', ' 5', '5.']) {
    const res = await app.inject({ method: 'GET', url: `/api/things/1?limit=${encodeURIComponent(limit)}` })
    t.equal(res.statusCode, 400, `limit ${JSON.stringify(limit)} → 400`)
    t.match(res.json(), { details: [{ field: 'limit' }] })
  }
  t.equal((await app.inject({ method: 'GET', url: '/api/things/1?ratio=1e3' })).statusCode, 400, 'a number in exponent form is refused too')
  t.equal((await app.inject({ method: 'GET', url: '/api/things/0' })).statusCode, 400, 'the schema\'s own bounds still apply')
})

t.test('every answer says nosniff', async (t) => {
  const app = build(t)
  for (const url of ['/health', '/api/things/1', '/api/things/x', '/nowhere']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url} (${res.statusCode})`)
  }
})

t.test('an admin listener takes the internal routes off the main port', async (t) => {
  const app = createServer({ service: 'edge', logLevel: 'silent', admin: { host: '127.0.0.1', port: 0 } })
  app.get('/api/public', async () => ({ ok: true }))
  t.after(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const main = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const admin = `http://127.0.0.1:${(app.adminServer?.address() as AddressInfo).port}`
  for (const path of ['/health', '/ready', '/metrics', '/openapi.json']) {
    t.equal((await fetch(`${main}${path}`)).status, 404, `main ${path} → 404`)
    const res = await fetch(`${admin}${path}`)
    t.equal(res.status, 200, `admin ${path} → 200`)
    await res.arrayBuffer()
  }
  t.equal((await fetch(`${main}/api/public`)).status, 200)
  await app.close()
  await t.rejects(fetch(`${admin}/health`), 'the admin listener closes with the app')
})

t.test('without an admin listener the internal routes stay on the one port', async (t) => {
  const app = build(t)
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)
  t.equal(app.adminServer, null)
})

t.test('client time limits are set on the listener', async (t) => {
  const app = createServer({ service: 'test', logLevel: 'silent' })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.equal(app.server.requestTimeout, DEFAULT_TIMEOUTS.requestMs)
  t.equal(app.server.headersTimeout, DEFAULT_TIMEOUTS.headersMs)
  t.equal(app.server.keepAliveTimeout, DEFAULT_TIMEOUTS.keepAliveMs)
  t.equal(app.server.timeout, DEFAULT_TIMEOUTS.idleMs)
})

t.test('over real HTTP, a refused request with a body gets its answer (not a hang)', async (t) => {
  const app = build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  for (const payload of [{ product_id: '4', price: '1' }, { nope: true }]) {
    const res = await fetch(`${url}/api/prices/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(3000) })
    t.equal(res.status, 400, `${JSON.stringify(payload)} → 400`)
    t.match(await res.json(), { statusCode: 400, error: 'Bad Request' })
  }
  const malformed = await fetch(`${url}/api/prices/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":', signal: AbortSignal.timeout(3000) })
  t.equal(malformed.status, 400, 'malformed JSON → 400')
})

t.test('credentials in a URL never reach a log line', async (t) => {
  const { LogCapture } = await import('../src/testing.js')
  const logs = new LogCapture()
  const app = createServer({ service: 'test', logLevel: 'info', logStream: logs })
  app.get('/api/things/', async () => ({ ok: true }))
  t.teardown(() => app.close())
  await app.inject({ method: 'GET', url: '/api/things/?access_token=SECRET1&start_date=2026-01-01&Password=SECRET2&api%5Fkey=SECRET3' })
  t.notMatch(logs.text, /SECRET/, 'no credential value is logged')
  t.match(logs.text, /start_date=2026-01-01/, 'other parameters stay readable')
  t.match(logs.text, /access_token=\[REDACTED\]/)
})
