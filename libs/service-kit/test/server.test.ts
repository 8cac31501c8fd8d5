import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { Type } from 'typebox'
import { createServer, HttpError } from '../src/index.js'
import { LogCapture } from '../src/testing.js'

function build (logs = new LogCapture()) {
  const app = createServer({ service: 'test', logStream: logs, bodyLimit: 2048 })
  app.post('/api/things/', {
    schema: {
      body: Type.Object({ name: Type.String({ minLength: 2 }), email: Type.String({ format: 'email' }), password: Type.String() }, { additionalProperties: false })
    }
  }, async (request) => {
    request.log.info({ body: request.body }, 'got a thing')
    return { ok: true }
  })
  app.get('/api/teapot', async () => { throw new HttpError(418, 'I am a teapot.') })
  app.get('/api/boom', async () => { throw new Error('database password is hunter2') })
  app.get('/api/nul', async () => { throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }) })
  t.after(() => app.close())
  return { app, logs }
}

t.test('a request id is made when absent and echoed back', async (t) => {
  const { app } = build()
  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

t.test('a given request id is kept; a hostile one is replaced', async (t) => {
  const { app } = build()
  const kept = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } })
  t.equal(kept.headers['x-request-id'], 'abc-123')
  const replaced = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'a b\n<script>' } })
  t.not(replaced.headers['x-request-id'], 'a b\n<script>')
})

t.test('validation errors name the field', async (t) => {
  const { app } = build()
  const res = await app.inject({ method: 'POST', url: '/api/things/', payload: { name: 'x', email: 'nope', password: 'p' } })
  t.equal(res.statusCode, 400)
  const body = res.json()
  t.equal(body.error, 'Bad Request')
  t.same(body.details.map((d: { field: string }) => d.field).sort(), ['email', 'name'])
  const missing = await app.inject({ method: 'POST', url: '/api/things', payload: { name: 'xy', email: 'a@b.co' } })
  t.equal(missing.statusCode, 400)
  t.same(missing.json().details, [{ field: 'password', message: 'is required' }])
})

t.test('malformed JSON is a 400, a wrong content type a 415, a large body a 413', async (t) => {
  const { app } = build()
  const bad = await app.inject({ method: 'POST', url: '/api/things/', headers: { 'content-type': 'application/json' }, payload: '{"name": ' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().statusCode, 400)
  const xml = await app.inject({ method: 'POST', url: '/api/things/', headers: { 'content-type': 'application/xml' }, payload: '<a/>' })
  t.equal(xml.statusCode, 415)
  t.equal(xml.json().error, 'Unsupported Media Type')
  const big = await app.inject({ method: 'POST', url: '/api/things/', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(5000) }) })
  t.equal(big.statusCode, 413)
  t.equal(big.json().error, 'Payload Too Large')
})

t.test('deliberate errors keep their status and message; others are a bare 500', async (t) => {
  const { app, logs } = build()
  const teapot = await app.inject({ method: 'GET', url: '/api/teapot' })
  t.equal(teapot.statusCode, 418)
  t.equal(teapot.json().message, 'I am a teapot.')
  const boom = await app.inject({ method: 'GET', url: '/api/boom' })
  t.equal(boom.statusCode, 500)
  t.same(boom.json(), { statusCode: 500, error: 'Internal Server Error', message: 'Something went wrong on our side.' })
  t.notMatch(boom.body, /hunter2|at .*\.js/)
  t.match(logs.text, /hunter2/, 'the real cause is logged for operators')
})

t.test('unknown routes get the JSON 404; trailing slash is optional', async (t) => {
  const { app } = build()
  const res = await app.inject({ method: 'GET', url: '/nope' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().error, 'Not Found')
  const slash = await app.inject({ method: 'GET', url: '/health/' })
  t.equal(slash.statusCode, 200)
})

t.test('passwords and authorization headers are redacted from logs', async (t) => {
  const { app, logs } = build()
  await app.inject({ method: 'POST', url: '/api/things/', headers: { authorization: 'Bearer secret-token-value' }, payload: { name: 'xy', email: 'a@b.co', password: 'correct horse battery' } })
  app.log.info({ req: { headers: { authorization: 'Bearer secret-token-value' } } }, 'manual')
  t.notMatch(logs.text, /correct horse battery/)
  t.notMatch(logs.text, /secret-token-value/)
  t.match(logs.text, /\[REDACTED\]/)
})

t.test('/ready reports each check and fails when one fails', async (t) => {
  const { app } = build()
  await app.ready()
  let up = true
  app.addReadinessCheck('thing', async () => { if (!up) throw new Error('thing is down') })
  const ok = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { status: 'ready', checks: { thing: 'ok' } })
  up = false
  const down = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(down.statusCode, 503)
  t.match(down.json().checks.thing, /thing is down/)
})

t.test('/metrics serves Prometheus metrics, request durations included', async (t) => {
  const { app } = build()
  await app.inject({ method: 'GET', url: '/health' })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/plain/)
  t.match(res.body, /http_request_duration_seconds/)
  t.match(res.body, /process_cpu_user_seconds_total/)
})

t.test('a value PostgreSQL refuses (class 22) is the client\'s 400, not a 500', async (t) => {
  const { app } = build()
  const res = await app.inject({ method: 'GET', url: '/api/nul' })
  t.equal(res.statusCode, 400)
  t.match(res.json().message, /NUL character/)
})

t.test('closing does not wait for the keep-alive timeout of a connection whose answer was in flight', async (t) => {
  const app = createServer({ service: 'test', logStream: new LogCapture() })
  app.get('/api/slow', async () => { await new Promise((resolve) => setTimeout(resolve, 300)); return { ok: true } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const agent = new http.Agent({ keepAlive: true })
  t.teardown(() => { agent.destroy() })
  const answer = new Promise<{ status: number, connection: string | undefined }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/api/slow', agent }, (res) => {
      res.resume()
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }) })
    }).on('error', reject)
  })
  await new Promise((resolve) => setTimeout(resolve, 100))
  let closed = false
  const closing = app.close().then(() => { closed = true })
  const done = await answer
  t.equal(done.status, 200, 'the request in flight is answered')
  t.equal(done.connection, 'close', 'and told the connection closes')
  // the keep-alive timeout is 72 s; closing must end about when the answer does
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 3000))])
  t.ok(closed, 'closed right after the last answer')
})
