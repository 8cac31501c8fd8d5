import t from 'tap'
import { ConfigError } from '@topup/service-kit'
import { loadPublisherSandboxConfig } from '../src/config.js'
import { build, credit, creditBody, ledger } from './helper.js'

t.test('bad input is a 400 naming the field, and credits nothing', async (t) => {
  const { app } = await build(t)
  const good = creditBody('51')
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['request_id missing', { player_id: '51', amount: '500 UC' }, 'request_id'],
    ['request_id empty', { ...good, request_id: '' }, 'request_id'],
    ['request_id over 200 characters', { ...good, request_id: 'r'.repeat(201) }, 'request_id'],
    ['request_id with a space', { ...good, request_id: 'a b' }, 'request_id'],
    ['request_id a number', { ...good, request_id: 12 }, 'request_id'],
    ['player_id missing', { request_id: 'x1', amount: '500 UC' }, 'player_id'],
    ['player_id a number', { ...good, player_id: 51 }, 'player_id'],
    ['player_id empty', { ...good, player_id: '' }, 'player_id'],
    ['amount missing', { request_id: 'x2', player_id: '51' }, 'amount'],
    ['amount a number', { ...good, amount: 500 }, 'amount'],
    ['amount empty', { ...good, amount: '' }, 'amount'],
    ['amount with a leading space', { ...good, amount: ' 500 UC' }, 'amount'],
    ['server empty', { ...good, server: '' }, 'server'],
    ['server null', { ...good, server: null }, 'server'],
    ['order_id a number', { ...good, order_id: 7 }, 'order_id'],
    ['an unknown field', { ...good, currency: 'UC' }, 'currency']
  ]
  for (const [what, body, field] of cases) {
    const res = await credit(app, body)
    t.equal(res.statusCode, 400, what)
    t.match(res.body, { statusCode: 400, message: new RegExp(`^Invalid body: ${field} `) }, what)
    t.ok((res.body.details as Array<{ field: string }>).some((d) => d.field === field), `${what}: details name ${field}`)
  }
  // 200 characters is the limit, not beyond it
  t.equal((await credit(app, { ...good, request_id: 'r'.repeat(200) })).statusCode, 200)

  const notJson = await app.inject({ method: 'POST', url: '/v1/credits', headers: { 'content-type': 'application/json' }, payload: '{"request_id":' })
  t.equal(notJson.statusCode, 400)
  const text = await app.inject({ method: 'POST', url: '/v1/credits', headers: { 'content-type': 'application/xml' }, payload: '<credit/>' })
  t.equal(text.statusCode, 415)

  const badStatus = await app.inject({ method: 'GET', url: '/v1/credits/a%20b' })
  t.equal(badStatus.statusCode, 400)
  t.match(badStatus.json(), { details: [{ field: 'request_id' }] })

  t.same((await ledger(app)).map((c) => c.request_id), ['r'.repeat(200)], 'only the valid request credited')
})

t.test('health, readiness and the OpenAPI document', async (t) => {
  const { app } = await build(t)
  t.equal((await app.inject({ url: '/health' })).statusCode, 200)
  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { checks: { database: 'ok' } })

  const doc = (await app.inject({ url: '/openapi.json' })).json() as { info: { title: string }, paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { required: string[], properties: Record<string, unknown> } }> }, responses: Record<string, unknown> }>> }
  t.equal(doc.info.title, 'publisher-sandbox')
  t.same(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/')).sort(), ['/v1/credits', '/v1/credits/{request_id}', '/v1/ledger', '/v1/players/{player_id}'])
  const post = doc.paths['/v1/credits']?.post
  const schema = post?.requestBody?.content['application/json']?.schema
  t.same([...(schema?.required ?? [])].sort(), ['amount', 'player_id', 'request_id'])
  t.same(Object.keys(schema?.properties ?? {}).sort(), ['amount', 'order_id', 'player_id', 'request_id', 'server'])
  t.same(Object.keys(post?.responses ?? {}).sort(), ['200', '400', '409', '415', '422', '503', '504'])
  t.same(Object.keys(doc.paths['/v1/credits/{request_id}']?.get?.responses ?? {}).sort(), ['200', '400', '404'])
  t.same(Object.keys(doc.paths['/v1/players/{player_id}']?.get?.responses ?? {}).sort(), ['200', '400', '404', '503'])
})

t.test('configuration', async (t) => {
  const defaults = loadPublisherSandboxConfig({})
  t.equal(defaults.PORT, 3090)
  t.equal(defaults.DATABASE_URL, 'postgres://postgres@127.0.0.1:5432/topup_publisher_sandbox')
  t.equal(defaults.SLOW_MS, 10_000)
  t.equal(loadPublisherSandboxConfig({ PORT: '4000', SLOW_MS: '5' }).SLOW_MS, 5)
  t.throws(() => loadPublisherSandboxConfig({ SLOW_MS: 'slow' }), ConfigError)
  t.throws(() => loadPublisherSandboxConfig({ SLOW_MS: '-1' }), ConfigError)
  t.throws(() => loadPublisherSandboxConfig({ PORT: '70000' }), ConfigError)
})
